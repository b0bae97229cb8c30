/**
 * The small pieces of gRPC-over-HTTP/2 the direct paths (fast-unary.ts, grpc-call.ts) answer
 * with themselves, written once: the grpc-timeout header and the status headers.
 */
import type * as http2 from 'node:http2';

const DEADLINE = /^(\d{1,8})([HMSmun])$/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * The call's deadline from its grpc-timeout header: ms, undefined when there is none, or the
 * message grpc-js gives a malformed one (to answer with INTERNAL).
 */
export function grpcTimeoutMs(headers: http2.IncomingHttpHeaders): number | undefined | { invalid: string } {
  const value = headers['grpc-timeout'];
  if (value === undefined) return undefined;
  const d = DEADLINE.exec(String(value));
  if (!d) return { invalid: `Invalid grpc-timeout value "${String(value)}"` };
  return Number(d[1]) * UNIT_MS[d[2]!]!;
}

/** grpc-status and grpc-message (percent-encoded, left out when empty), for trailers. */
export function statusFields(code: number, details: string): http2.OutgoingHttpHeaders {
  const h: http2.OutgoingHttpHeaders = { 'grpc-status': String(code) };
  if (details !== '') h['grpc-message'] = encodeGrpcMessage(details);
  return h;
}

/**
 * grpc-message as grpc-go writes it (the gRPC spec's rule): the UTF-8 bytes, each one outside
 * printable ASCII (0x20-0x7E) or a `%` written as %XX, everything else as it is (spaces too).
 */
export function encodeGrpcMessage(details: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(details)) return details;
  let out = '';
  for (const b of Buffer.from(details, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Where grpc-go sends a call to a path no service serves: its status for that path, or
 * undefined when `knownPaths` has it. `/Service/Method` with an unknown service or method is
 * UNIMPLEMENTED; a path without that shape is RESOURCE_EXHAUSTED "malformed method name".
 */
export function unknownPathStatus(path: string, knownPaths: ReadonlySet<string>, knownServices: ReadonlySet<string>): { code: number; details: string } | undefined {
  if (knownPaths.has(path)) return undefined;
  const name = path.startsWith('/') ? path.slice(1) : path;
  const slash = name.lastIndexOf('/');
  if (slash < 0) return { code: 8, details: `malformed method name: ${JSON.stringify(path)}` };
  const service = name.slice(0, slash);
  if (!knownServices.has(service)) return { code: 12, details: `unknown service ${service}` };
  return { code: 12, details: `unknown method ${name.slice(slash + 1)} for service ${service}` };
}

/** A trailers-only response: the status in the response headers, with END_STREAM. */
export function trailersOnlyHeaders(code: number, details: string): http2.OutgoingHttpHeaders {
  return { ':status': 200, 'content-type': 'application/grpc', ...statusFields(code, details) };
}
