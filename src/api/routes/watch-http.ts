/**
 * POST /v3/watch as gateway clients use it: the body is a sequence of WatchRequest objects, the
 * response a chunked stream of `{"result":…}\n` lines that stays open until the client leaves.
 * Unlike etcd 3.4 (which answers only at body end) each request is served as soon as its object
 * is complete, so the body is read here from the raw stream, never buffered by fastify.
 *
 * The status line is sent with the first answer: a malformed first message is an HTTP 400
 * (code 3); a malformed later one becomes an in-stream `{"error":…}` line and the stream goes on.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext, WatchConnection } from '../context.ts';
import { WatchSession } from '../ws/watch-session.ts';
import { JsonSplitter } from '../json-splitter.ts';
import { errorBody, mapError } from '../error-map.ts';
import { kvError } from '../../errors.ts';
import { guardedEngine } from '../../auth/watch-guard.ts';
import { authInfoOf } from '../security/request-auth.ts';

const STREAM_HEADERS = {
  'content-type': 'application/json',
  'grpc-metadata-content-type': 'application/grpc',
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'access-control-allow-headers': 'accept, content-type, authorization',
};

export async function httpWatchRoute(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  // In this plugin's scope only: hand the body stream through untouched.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  app.post('/v3/watch', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    const fail = (err: unknown): void => {
      const m = mapError(err, ctx.config.maxBodyBytes);
      res.writeHead(m.httpStatus, { 'content-type': 'application/json' });
      res.end(errorBody(m));
      req.raw.destroy();
    };
    if (!ctx.serving) return fail(kvError('ERR_STOPPED'));
    if (ctx.connections.size >= ctx.config.maxWatchStreams) return fail(kvError('ERR_TOO_MANY_STREAMS'));

    let started = false;
    let accepted = false; // a first message was valid: later errors go in-stream
    let ended = false;
    let engine;
    try {
      engine = guardedEngine(ctx.engine, ctx.auth, authInfoOf(ctx, req));
    } catch (err) {
      return fail(err);
    }
    const session = new WatchSession(
      engine,
      ctx.identity,
      {
        write: (frame) => {
          if (!started) {
            started = true;
            res.writeHead(200, STREAM_HEADERS);
          }
          if (typeof frame === 'string') res.write(frame + '\n');
          else {
            res.write(frame.head);
            if (frame.events) res.write(frame.events);
            res.write(frame.tail + '\n');
          }
        },
        full: () => res.writableLength > ctx.config.wsHighWaterBytes,
        kill: () => res.destroy(),
      },
      { maxUnreadableMs: ctx.config.wsMaxUnreadableMs, maxFrameBytes: ctx.config.maxBodyBytes },
    );
    const conn: WatchConnection = {
      shutdown: () => {
        ended = true;
        if (!started) res.writeHead(200, STREAM_HEADERS);
        res.end();
      },
    };
    ctx.connections.add(conn);
    const cleanup = (): void => {
      ctx.connections.delete(conn);
      session.close();
    };
    res.on('close', cleanup);
    res.on('drain', () => session.resume());

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
            value = JSON.parse(piece.text);
          } catch (err) {
            throw kvError('ERR_INVALID_ARGUMENT', `invalid JSON: ${(err as Error).message}`);
          }
          session.handleObject(value);
          accepted = true;
        } catch (err) {
          if (!accepted) {
            ended = true;
            cleanup();
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
        cleanup();
        fail(kvError('ERR_INVALID_ARGUMENT', 'unexpected EOF'));
      }
      // Otherwise the stream stays open for events until the client goes away, as etcd.
    });
  });
}
