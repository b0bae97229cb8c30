/**
 * The direct path for etcdserverpb.Watch/Watch streams (see fast-unary.ts for how it sits beside
 * grpc-js): the same session and engine as watch-service.ts, without grpc-js's per-message work.
 *
 * Why: a watch stream carries one message per watcher per batch. Through grpc-js each message
 * is copied twice (the response assembled, then framed with its 5-byte prefix) and passes its
 * interceptor chain; at saturation that was a fifth of the server's time (bench/lib/bounds.ts).
 * Here a response is two pieces — the prefix with its own fields, and the events' bytes shared by
 * every watcher of the batch — written as one vectored write per stream per tick.
 *
 * Behaviour is grpc-js's and etcd's, so clients cannot tell the paths apart:
 *   - response headers go out with the first message; a stream refused before any (server
 *     stopping, too many streams, a bad token) is a trailers-only response with the status;
 *   - each request message is at most maxReceiveBytes (else RESOURCE_EXHAUSTED), uncompressed
 *     (else INTERNAL, as grpc-go words both), and a valid WatchRequest (else INTERNAL);
 *   - the client half-closing ends the stream with OK (etcd's recv loop returns); a client
 *     cancel drops it; grpc-timeout ends it with DEADLINE_EXCEEDED;
 *   - backpressure as watch-service.ts: bytes count as pending until HTTP/2 flow control lets
 *     them out; above wsHighWaterBytes, or with grpcWatchHighWaterMessages responses waiting (as
 *     grpc-js's queue limit did), the session reports full and its watchers become victims.
 */
import type * as http2 from 'node:http2';
import type { ServerStream } from '../h2/h2-stream.ts';
import { status } from '@grpc/grpc-js';
import type { ApiContext, WatchConnection } from '../context.ts';
import { WatchSessionCore } from '../ws/watch-session.ts';
import { ERROR_MESSAGES } from '../../errors.ts';
import { decodeWatchRequest, type Msg } from './decode.ts';
import { encodeWatchMessage, type GrpcWatchMessage } from './encode-watch.ts';
import { guardedEngine } from '../../auth/watch-guard.ts';
import { grpcTokenAuthInfo } from './grpc-auth.ts';
import { grpcErrorString, grpcStatus } from '../error-map.ts';
import { GrpcCall } from './grpc-call.ts';
import { DEFAULTS } from '../../config.ts';

export interface FastWatchOptions {
  /** protobufjs WatchRequest decoder (the one grpc-js would use). */
  decode(bytes: Buffer): Msg;
  maxReceiveBytes: number;
}

export function serveWatchDirect(ctx: ApiContext, stream: ServerStream, headers: http2.IncomingHttpHeaders, opts: FastWatchOptions): void {
  const call = new GrpcCall(stream, headers, opts.maxReceiveBytes);
  if (call.ended) return; // a bad grpc-timeout
  if (!ctx.serving) return call.end(status.UNAVAILABLE, ERROR_MESSAGES.ERR_STOPPED);
  if (ctx.connections.size >= ctx.config.maxWatchStreams) return call.end(status.RESOURCE_EXHAUSTED, ERROR_MESSAGES.ERR_TOO_MANY_STREAMS);
  let engine;
  try {
    const token = typeof headers.token === 'string' ? headers.token : undefined;
    engine = guardedEngine(ctx.engine, ctx.auth, grpcTokenAuthInfo(ctx, token), grpcErrorString, () => grpcTokenAuthInfo(ctx, token));
  } catch (err) {
    const s = grpcStatus(err);
    return call.end(s.code, s.details);
  }
  const high = ctx.config.wsHighWaterBytes;
  const highMessages = DEFAULTS.grpcWatchHighWaterMessages;
  let pendingBytes = 0;
  let pendingMessages = 0;
  const full = (): boolean => pendingBytes > high || pendingMessages >= highMessages;
  const session = new WatchSessionCore<GrpcWatchMessage>(
    engine,
    (r) => encodeWatchMessage(ctx.identity, r),
    {
      write: (m) => {
        const n = messageBytes(m);
        pendingBytes += n;
        pendingMessages++;
        call.send(m.head, m.events, () => {
          const wasFull = full();
          pendingBytes -= n;
          pendingMessages--;
          if (wasFull && !full()) session.resume();
        });
      },
      full,
      kill: (reason) => call.end(status.RESOURCE_EXHAUSTED, reason),
    },
    { maxUnreadableMs: ctx.config.wsMaxUnreadableMs, maxFrameBytes: ctx.config.maxBodyBytes, counters: ctx.streamStats.grpc },
    messageBytes,
  );
  const conn: WatchConnection = { shutdown: () => call.end(status.UNAVAILABLE, ERROR_MESSAGES.ERR_STOPPED) };
  ctx.connections.add(conn);
  call.onClose(() => {
    ctx.connections.delete(conn);
    session.close();
  });
  call.onMessage((bytes) => {
    let m: Msg;
    try {
      m = opts.decode(bytes);
    } catch {
      return call.end(status.INTERNAL, 'Error deserializing request');
    }
    const req = decodeWatchRequest(m);
    // A request with no member of the union set is ignored, as etcd does.
    if (req) session.handle(req);
  });
  // The client half-closed: etcd ends the stream too.
  call.onHalfClose(() => call.end(status.OK, ''));
}

function messageBytes(m: GrpcWatchMessage): number {
  return m.head.length + (m.events === null ? 0 : m.events.length);
}
