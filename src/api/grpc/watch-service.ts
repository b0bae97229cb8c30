/**
 * etcdserverpb.Watch: the bidirectional stream, over the same engine and session as the
 * WebSocket (src/api/ws/watch-session.ts), with WatchResponses encoded as protobuf.
 *
 * Backpressure: HTTP/2 flow control is the client's "I have read it". A response's bytes count
 * as pending from call.write until grpc-js hands them to the HTTP/2 stream (its write callback),
 * which waits for the peer's flow-control window. Above wsHighWaterBytes pending, or when
 * call.write returned false (grpc-js's queue of messages not yet handed to HTTP/2 is over its
 * high-water mark), the session reports full: the engine makes the watchers victims and they catch
 * up when the stream drains, exactly as over a WebSocket. The second condition matters for speed
 * too: every gRPC message costs grpc-js a fixed amount of work, and a victim's catch-up sends one
 * response for many revisions (measured: 3-5x more events/s at saturation than queueing one
 * message per watcher per revision).
 *
 * A stream ends with its client (end/cancel), on server shutdown (UNAVAILABLE, so clients
 * reconnect elsewhere or later) or when its client stays unreadable too long.
 */
import { status, type ServerDuplexStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext, WatchConnection } from '../context.ts';
import { WatchSessionCore } from '../ws/watch-session.ts';
import { ERROR_MESSAGES } from '../../errors.ts';
import { decodeWatchRequest, type Msg } from './decode.ts';
import { encodeWatchResponse } from './encode-watch.ts';
import { guardedEngine } from '../../auth/watch-guard.ts';
import { grpcAuthInfo } from './grpc-auth.ts';
import { grpcErrorString, grpcStatus } from '../error-map.ts';

export const WATCH_RAW_METHODS = ['Watch'] as const;

export function watchService(ctx: ApiContext): UntypedServiceImplementation {
  return { Watch: (call: ServerDuplexStream<Msg, Buffer>) => serveWatch(ctx, call) };
}

function fail(call: ServerDuplexStream<Msg, Buffer>, code: status, details: string): void {
  call.emit('error', { code, details });
}

function serveWatch(ctx: ApiContext, call: ServerDuplexStream<Msg, Buffer>): void {
  if (!ctx.serving) return fail(call, status.UNAVAILABLE, ERROR_MESSAGES.ERR_STOPPED);
  if (ctx.connections.size >= ctx.config.maxWatchStreams) return fail(call, status.RESOURCE_EXHAUSTED, ERROR_MESSAGES.ERR_TOO_MANY_STREAMS);
  let engine;
  try {
    engine = guardedEngine(ctx.engine, ctx.auth, grpcAuthInfo(ctx, call), grpcErrorString, () => grpcAuthInfo(ctx, call));
  } catch (err) {
    const s = grpcStatus(err);
    return fail(call, s.code, s.details);
  }
  const high = ctx.config.wsHighWaterBytes;
  let pendingBytes = 0;
  let ended = false;
  const session = new WatchSessionCore<Buffer>(
    engine,
    (r) => encodeWatchResponse(ctx.identity, r),
    {
      write: (msg) => {
        pendingBytes += msg.length;
        call.write(msg, () => {
          const wasFull = pendingBytes > high;
          pendingBytes -= msg.length;
          if (wasFull && pendingBytes <= high) session.resume();
        });
      },
      full: () => pendingBytes > high || call.writableNeedDrain,
      kill: (reason) => end(status.RESOURCE_EXHAUSTED, reason),
    },
    { maxUnreadableMs: ctx.config.wsMaxUnreadableMs, maxFrameBytes: ctx.config.maxBodyBytes, counters: ctx.streamStats.grpc },
    (msg) => msg.length,
  );
  const conn: WatchConnection = { shutdown: () => end(status.UNAVAILABLE, ERROR_MESSAGES.ERR_STOPPED) };
  ctx.connections.add(conn);

  function cleanup(): void {
    if (ended) return;
    ended = true;
    ctx.connections.delete(conn);
    session.close();
  }
  /** Ends the stream: OK when the client finished, else the given status. */
  function end(code: status, details: string): void {
    if (ended) return;
    cleanup();
    if (code === status.OK) call.end();
    else fail(call, code, details);
  }

  call.on('data', (m: Msg) => {
    const req = decodeWatchRequest(m);
    // A request with no member of the union set is ignored, as etcd does.
    if (req) session.handle(req);
  });
  call.on('drain', () => session.resume());
  // The client half-closed: etcd ends the stream too (its recv loop returns).
  call.on('end', () => end(status.OK, ''));
  call.on('cancelled', cleanup);
  call.on('close', cleanup);
  call.on('error', cleanup);
}
