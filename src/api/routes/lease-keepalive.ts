/**
 * Lease keep-alive streams:
 *
 * - POST /v3/lease/keepalive, as gateway clients use it: the body is a sequence of
 *   LeaseKeepAliveRequest objects, the response a chunked stream with one `{"result":…}\n` per
 *   request, each written with ONE res.write so it is exactly one HTTP chunk. Each request is
 *   answered as soon as its object is complete (the body is read from the raw stream, split by
 *   JsonSplitter); the response ends when the body has ended and every answer is out, as etcd.
 *   A malformed first message is an HTTP 400; a later one an in-stream `{"error":…}` line.
 * - GET /v3/lease/keepalive upgraded to a WebSocket, so browsers can hold a lease: one frame per
 *   request, one frame per answer.
 *
 * Both count as connections for shutdown (ended / closed with 1001). A client that keeps sending
 * without reading the answers is not read from until its socket drains.
 */
import type { FastifyInstance } from 'fastify';
import { GATEWAY_STREAM_HEADERS } from '../gateway-stream-headers.ts';
import type { ApiContext, WatchConnection } from '../context.ts';
import { JsonSplitter } from '../json-splitter.ts';
import { parseJson } from '../json-read.ts';
import { errorBody, mapError, WS_CLOSE } from '../error-map.ts';
import { kvError } from '../../errors.ts';
import { KeepAliveSession } from './lease-keepalive-session.ts';
import { etcdMethodNotAllowed } from '../ws/not-an-upgrade.ts';
import { frameText } from '../ws/frame-text.ts';

export async function leaseKeepAliveRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  // In this plugin's scope only: hand the body stream through untouched.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  app.post('/v3/lease/keepalive', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    const fail = (err: unknown): void => {
      const m = mapError(err, ctx.config.maxBodyBytes);
      // The rest of the body is not wanted: discard it and close the connection after the answer.
      res.writeHead(m.httpStatus, { 'content-type': 'application/json', connection: 'close' });
      res.end(errorBody(m));
      req.raw.resume();
    };
    if (!ctx.serving) return fail(kvError('ERR_STOPPED'));
    let started = false;
    let ended = false;
    const start = (): void => {
      if (started) return;
      started = true;
      res.writeHead(200, GATEWAY_STREAM_HEADERS);
    };
    const session = new KeepAliveSession({
      lessor: ctx.lessor,
      identity: ctx.identity,
      currentRevision: () => ctx.kv.currentRevision(),
      write: (message) => {
        start();
        res.write(message + '\n'); // one write = one chunk: clients parse chunk by chunk
        // A client that sends without reading: stop reading its requests until it catches up.
        if (res.writableLength > ctx.config.wsHighWaterBytes) req.raw.pause();
      },
      maxFrameBytes: ctx.config.maxBodyBytes,
    });
    const conn: WatchConnection = {
      shutdown: () => {
        ended = true;
        session.close();
        start();
        res.end();
      },
    };
    ctx.connections.add(conn);
    res.on('close', () => {
      ctx.connections.delete(conn);
      session.close();
    });
    res.on('drain', () => req.raw.resume());

    let accepted = false; // a first message was valid: later errors go in-stream
    const splitter = new JsonSplitter(ctx.config.maxBodyBytes);
    const body = req.raw;
    body.setEncoding('utf8');
    body.on('data', (chunk: string) => {
      if (ended) return;
      for (const piece of splitter.push(chunk)) {
        try {
          if ('error' in piece) throw kvError('ERR_INVALID_ARGUMENT', piece.error);
          let value: unknown;
          try {
            // Not JSON.parse: an ID sent as a JSON number above 2^53 (Python clients send ints so)
            // must reach the lessor exact, not rounded to another lease.
            value = parseJson(piece.text);
          } catch (err) {
            throw kvError('ERR_INVALID_ARGUMENT', `invalid JSON: ${(err as Error).message}`);
          }
          session.handleObject(value);
          accepted = true;
        } catch (err) {
          if (!accepted) {
            ended = true;
            ctx.connections.delete(conn);
            session.close();
            return fail(err);
          }
          session.writeError(err);
        }
      }
    });
    body.on('end', () => {
      if (ended) return;
      if (splitter.pending() && !accepted) {
        ended = true;
        ctx.connections.delete(conn);
        return fail(kvError('ERR_INVALID_ARGUMENT', 'unexpected EOF'));
      }
      // etcd ends the stream once the request body is over and every answer is out.
      void session.drained().then(() => {
        if (ended) return;
        ended = true;
        start();
        res.end();
      });
    });
  });

  app.route({
    method: 'GET',
    url: '/v3/lease/keepalive',
    handler: etcdMethodNotAllowed,
    wsHandler: (socket, req) => {
      if (!ctx.serving) {
        socket.close(WS_CLOSE.goingAway.code, WS_CLOSE.goingAway.reason);
        return;
      }
      let paused = false;
      const session = new KeepAliveSession({
        lessor: ctx.lessor,
        identity: ctx.identity,
        currentRevision: () => ctx.kv.currentRevision(),
        write: (message) => {
          if (socket.readyState !== socket.OPEN) return;
          socket.send(message);
          // A client that sends without reading: stop reading its frames until it catches up.
          if (!paused && socket.bufferedAmount > ctx.config.wsHighWaterBytes) {
            paused = true;
            socket.pause();
            req.raw.socket.once('drain', () => {
              paused = false;
              socket.resume();
            });
          }
        },
        maxFrameBytes: ctx.config.maxBodyBytes,
      });
      const conn: WatchConnection = { shutdown: (code, reason) => socket.close(code, reason) };
      ctx.connections.add(conn);
      socket.on('message', (data) => {
        const text = frameText(data);
        session.handleText(text);
      });
      socket.on('close', () => {
        ctx.connections.delete(conn);
        session.close();
      });
      socket.on('error', () => socket.terminate());
    },
  });
}
