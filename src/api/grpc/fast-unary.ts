/**
 * A direct path for unary calls (every method built with unary.ts: all of KV, and Lease, Cluster,
 * Maintenance and Auth but their streaming methods): the HTTP/2 stream is answered here, beside
 * grpc-js, instead of through its per-call machinery (interceptor chain, metadata objects, call
 * tracker, read queue), which cost about a fifth of a put's server CPU, and, on watchkv's own
 * HTTP/2 layer, without the internal hop to grpc-js. Measured: see bench/lib/bounds.ts.
 *
 * It serves only what it can answer exactly as grpc-js would: `application/grpc` content, no
 * message compression, no client-certificate identity. Anything else (and every other method)
 * goes to grpc-js unchanged, so the two paths differ in speed, not in behaviour:
 *   - one request message, at most maxReceiveBytes (else RESOURCE_EXHAUSTED, as grpc-go words it);
 *   - grpc-timeout is honoured (DEADLINE_EXCEEDED when the answer is late);
 *   - the response is headers, one message, trailers `grpc-status: 0`; a failure is a
 *     trailers-only response with the status and the percent-encoded message;
 *   - a stream the client cancels is dropped, its result discarded.
 *
 * How it attaches: grpc-js keeps the HTTP/2 server behind its connection injector private, so
 * attach() finds it in the Server's table and puts a dispatcher in front of grpc-js's 'stream'
 * listener; the same dispatcher hands Watch streams to their own direct path (fast-watch.ts).
 * If a grpc-js release changes that table, attach() returns false and every call keeps going
 * through grpc-js (test/api/grpc/fast-unary.test.ts fails, so the loss is noticed).
 */
import type * as http2 from 'node:http2';
import { status, type Server } from '@grpc/grpc-js';
import type { Msg } from './decode.ts';
import { grpcTimeoutMs, trailersOnlyHeaders, unknownPathStatus } from './grpc-wire.ts';
import type { ServerStream } from '../h2/h2-stream.ts';

export interface FastMethod {
  /** The method's name, for the log of an unexpected error. */
  name: string;
  /** protobufjs request decoder (the same grpc-js would use). */
  decode(bytes: Buffer): Msg;
  /** The call: the request and its `token` metadata → the encoded response. */
  run(req: Msg, token: string | undefined): Promise<Buffer>;
}

export interface FastUnaryOptions {
  methods: ReadonlyMap<string, FastMethod>;
  maxReceiveBytes: number;
  /** The call must be authenticated by its TLS client certificate: leave it to grpc-js. */
  certIdentity: () => boolean;
  /** The error → gRPC status map shared by every transport (unary.ts errorStatus). */
  statusOf(err: unknown, method: string): { code: number; details: string };
  /** Counts calls served here (tests read it). */
  served: { count: number };
  /** Streaming methods with a direct path of their own (fast-watch.ts), under the same rules. */
  streams?: ReadonlyMap<string, (stream: ServerStream, headers: http2.IncomingHttpHeaders) => void>;
  /** Counts streams served by those (tests read it). */
  streamsServed?: { count: number };
  /**
   * Every `/Service/Method` the server serves: a gRPC call to any other path is answered here
   * with grpc-go's status for it (grpc-wire.ts unknownPathStatus), as etcd answers it.
   */
  known?: { paths: ReadonlySet<string>; services: ReadonlySet<string> };
  /**
   * Requests on the HTTP/2 connection that are not gRPC (their content-type is not
   * application/grpc*): the JSON gateway, REST, SSE and the explorer, which a browser or curl
   * reaches over HTTP/2 once TLS's ALPN offers `h2` (etcd routes them the same way).
   */
  plain?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;
}


/**
 * The direct paths' dispatcher, for either HTTP/2 layer: answers a stream here (a direct method,
 * a direct streaming method, or an unknown path) and returns true, or returns false and leaves
 * the stream untouched for grpc-js (or, for a request that is not gRPC, the HTTP routes).
 */
export function directRouter(opts: FastUnaryOptions): (stream: ServerStream, headers: http2.IncomingHttpHeaders) => boolean {
  return (stream, headers) => {
    if (!isGrpc(headers)) return false;
    const path = headers[':path'] as string;
    const unknown = opts.known && unknownPathStatus(path, opts.known.paths, opts.known.services);
    if (unknown) {
      answerUnknown(stream, unknown);
      return true;
    }
    const m = opts.methods.get(path);
    const direct = opts.streams?.get(path);
    if ((!m && !direct) || !servable(headers) || opts.certIdentity()) return false;
    if (m) {
      opts.served.count++;
      serve(stream, headers, m, opts);
      return true;
    }
    if (opts.streamsServed) opts.streamsServed.count++;
    direct!(stream, headers);
    return true;
  };
}

/** Puts the direct path in front of grpc-js for `opts.methods`; false if it could not attach. */
export function attachFastUnary(server: Server, opts: FastUnaryOptions): boolean {
  const table = (server as unknown as { http2Servers?: Map<http2.Http2Server, unknown> }).http2Servers;
  if (!(table instanceof Map) || table.size !== 1) return false;
  const h2 = [...table.keys()][0]!;
  const grpcListeners = h2.listeners('stream') as Array<(s: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => void>;
  if (grpcListeners.length !== 1) return false;
  const grpcHandler = grpcListeners[0]!;
  const route = directRouter(opts);
  h2.removeAllListeners('stream');
  h2.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
    if (opts.plain && !isGrpc(headers)) return opts.plain(stream, headers, flags, rawHeaders);
    if (!route(stream, headers)) grpcHandler(stream, headers);
  });
  return true;
}

/** A trailers-only answer; the request body is read and dropped so the window is not held. */
function answerUnknown(stream: ServerStream, st: { code: number; details: string }): void {
  stream.on('error', () => {});
  stream.resume();
  if (!stream.destroyed) stream.respond(trailersOnlyHeaders(st.code, st.details), { endStream: true });
}

function isGrpc(h: http2.IncomingHttpHeaders): boolean {
  const ct = h['content-type'];
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}

function servable(h: http2.IncomingHttpHeaders): boolean {
  const ct = h['content-type'];
  if (typeof ct !== 'string' || !(ct === 'application/grpc' || ct.startsWith('application/grpc+proto') || ct.startsWith('application/grpc;'))) return false;
  const enc = h['grpc-encoding'];
  return enc === undefined || enc === 'identity';
}

function serve(stream: ServerStream, headers: http2.IncomingHttpHeaders, m: FastMethod, opts: FastUnaryOptions): void {
  stream.on('error', () => {});
  let answered = false;
  let timer: NodeJS.Timeout | undefined;
  const fail = (code: number, details: string): void => {
    if (answered || stream.destroyed || stream.closed) return;
    answered = true;
    if (timer) clearTimeout(timer);
    if (stream.headersSent) stream.close();
    else stream.respond(trailersOnlyHeaders(code, details), { endStream: true });
  };
  const deadline = grpcTimeoutMs(headers);
  if (typeof deadline === 'object') return fail(status.INTERNAL, deadline.invalid);
  if (deadline !== undefined) timer = setTimeout(() => fail(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), deadline);
  const chunks: Buffer[] = [];
  let size = 0;
  let declared = -1;
  const max = opts.maxReceiveBytes;
  const refuseBody = (len: number): void => {
    fail(status.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${len} vs. ${max})`);
    chunks.length = 0;
    stream.removeAllListeners('data');
    stream.resume(); // read and drop the rest, so the connection's window is not held
  };
  stream.on('data', (c: Buffer) => {
    size += c.length;
    chunks.push(c);
    // The prefix declares the message's length: refuse an oversized one before it arrives.
    if (declared < 0 && size >= 5) {
      declared = (chunks.length === 1 ? c : Buffer.concat(chunks)).readUInt32BE(1);
      if (declared > max) return refuseBody(declared);
    }
    if (size > max + 10) refuseBody(size - 5);
  });
  stream.on('end', () => {
    if (answered) return;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const req = oneMessage(body, headers[':path'] as string);
    if (!Buffer.isBuffer(req)) return fail(req.code, req.details);
    let msg: Msg;
    try {
      msg = m.decode(req);
    } catch {
      return fail(status.INTERNAL, 'Error deserializing request');
    }
    const token = headers.token;
    const refuse = (err: unknown): void => {
      const s = opts.statusOf(err, m.name);
      fail(s.code, s.details);
    };
    let result: Promise<Buffer>;
    try {
      // A bad token or a refused request throws before the first await.
      result = m.run(msg, typeof token === 'string' ? token : undefined);
    } catch (err) {
      return refuse(err);
    }
    result.then(reply, refuse);
  });
  function reply(res: Buffer): void {
    if (answered || stream.destroyed || stream.closed) return;
    answered = true;
    if (timer) clearTimeout(timer);
    const frame = Buffer.allocUnsafe(5 + res.length);
    frame[0] = 0;
    frame.writeUInt32BE(res.length, 1);
    res.copy(frame, 5);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(frame);
  }
}

/**
 * The one length-prefixed message of a unary request (its size already checked as it arrived), or
 * the status to answer with: grpc-js's codes for a missing or second message, grpc-go's (so
 * etcd's) for a flag grpc-js lets pass.
 */
function oneMessage(body: Buffer, path: string): Buffer | { code: number; details: string } {
  if (body.length < 5) return { code: status.UNIMPLEMENTED, details: `Received no request message for unary method ${path}` };
  if (body[0] !== 0) return { code: status.INTERNAL, details: 'grpc: compressed flag set with identity or empty encoding' };
  if (body.length !== 5 + body.readUInt32BE(1)) return { code: status.UNIMPLEMENTED, details: `Received a second request message for unary method ${path}` };
  return body.subarray(5);
}
