/**
 * GET /v3/watch upgraded to a WebSocket: each client text frame is one WatchRequest, each server
 * frame one `{"result": WatchResponse}` (grpc-websocket-proxy's framing, full duplex).
 *
 * Backpressure: full() looks at ws's bufferedAmount (its queue plus the net socket's) and the
 * frames batched for this tick; the net socket's 'drain' resumes the stream. Close codes: 1013
 * when the server has too many watch streams, 1008 when the client stays unreadable too long,
 * 1001 on server shutdown.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext, WatchConnection } from '../context.ts';
import { FrameBatcher } from './frame-batcher.ts';
import { WatchSession } from './watch-session.ts';
import { ERROR_MESSAGES } from '../../errors.ts';
import { grpcErrorString, WS_CLOSE, wsCloseReason } from '../error-map.ts';
import { guardedEngine } from '../../auth/watch-guard.ts';
import { authInfoOf, identify } from '../security/request-auth.ts';
import { etcdMethodNotAllowed } from './not-an-upgrade.ts';
import { frameText } from './frame-text.ts';
import { writeGathered } from '../../lib/gathered-write.ts';

export function wsWatchRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.route({
    method: 'GET',
    url: '/v3/watch',
    handler: etcdMethodNotAllowed,
    wsHandler: (socket, req) => {
      if (!ctx.serving) {
        socket.close(WS_CLOSE.goingAway.code, WS_CLOSE.goingAway.reason);
        return;
      }
      if (ctx.connections.size >= ctx.config.maxWatchStreams) {
        socket.close(WS_CLOSE.tryAgainLater, ERROR_MESSAGES.ERR_TOO_MANY_STREAMS);
        return;
      }
      const net = req.raw.socket;
      net.setNoDelay(true); // each tick's frames are one write: send it now, do not wait for ACKs
      const high = ctx.config.wsHighWaterBytes;
      // Frames of one tick leave in one write (see FrameBatcher); ws keeps reading, pings and close.
      const frames = new FrameBatcher({
        open: () => socket.readyState === socket.OPEN,
        write: (chunk) => net.write(chunk),
        writeGathered: (chunks) => writeGathered(net, chunks),
      });
      const close = (code: number, reason: string): void => {
        frames.flush();
        socket.close(code, reason);
      };
      const session = new WatchSession(
        guardedEngine(ctx.engine, ctx.auth, authInfoOf(ctx, req), grpcErrorString, () => identify(ctx, req)),
        ctx.identity,
        {
          write: (frame) => (typeof frame === 'string' ? frames.push(frame, null, '') : frames.push(frame.head, frame.events, frame.tail)),
          full: () => socket.bufferedAmount + frames.pending > high,
          kill: (reason) => {
            close(WS_CLOSE.policyViolation, wsCloseReason(reason));
            // The close frame may never get through a full buffer: cut the socket shortly after.
            setTimeout(() => socket.terminate(), 5000).unref();
          },
        },
        { maxUnreadableMs: ctx.config.wsMaxUnreadableMs, maxFrameBytes: ctx.config.maxBodyBytes, counters: ctx.streamStats.websocket },
      );
      const conn: WatchConnection = { shutdown: close };
      ctx.connections.add(conn);
      const onDrain = (): void => session.resume();
      net.on('drain', onDrain);
      socket.on('message', (data) => {
        const text = frameText(data);
        session.handleText(text);
      });
      socket.on('close', () => {
        net.off('drain', onDrain);
        ctx.connections.delete(conn);
        session.close();
      });
      socket.on('error', () => socket.terminate());
    },
  });
}
