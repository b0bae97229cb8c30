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
  if (details !== '') h['grpc-message'] = encodeURI(details);
  return h;
}

/** A trailers-only response: the status in the response headers, with END_STREAM. */
export function trailersOnlyHeaders(code: number, details: string): http2.OutgoingHttpHeaders {
  return { ':status': 200, 'content-type': 'application/grpc', ...statusFields(code, details) };
}
