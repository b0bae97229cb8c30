/**
 * POST /v3/watch as gateway clients use it: the body is a sequence of WatchRequest objects, the
 * response a chunked stream of `{"result":…}\n` lines that stays open until the client leaves.
 * Unlike etcd 3.4 (which answers only at body end) each request is served as soon as its object
 * is complete, so the body is read here from the raw stream, never buffered by fastify.
 *
 * The status line is sent with the first answer: a malformed first message is an HTTP 400
 * (code 3); a malformed later one becomes an in-stream `{"error":…}` line and the stream goes on.
 *
 * Framing invariant: every streamed message is exactly ONE res.write, hence one HTTP chunk
 * holding `{"result":…}\n` (or `{"error":…}\n`), as etcd's gateway flushes them. Gateway clients
 * read a chunk and JSON-parse it, so a message split over chunks is a message never seen. Node
 * (20) frames each write() as its own chunk even while the socket is corked; the route never
 * corks the response itself (OutgoingMessage.cork joins writes into one chunk on newer Nodes).
 */
import type { FastifyInstance } from 'fastify';
import { GATEWAY_STREAM_HEADERS } from '../gateway-stream-headers.ts';
import type { ApiContext, WatchConnection } from '../context.ts';
import { WatchSession } from '../ws/watch-session.ts';
import { JsonSplitter } from '../json-splitter.ts';
import type { WatchFramePieces } from '../json.ts';
import { parseJson } from '../json-read.ts';
import { errorBody, grpcErrorString, mapError } from '../error-map.ts';
import { kvError } from '../../errors.ts';
import { guardedEngine } from '../../auth/watch-guard.ts';
import { authInfoOf, identify } from '../security/request-auth.ts';

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
      engine = guardedEngine(ctx.engine, ctx.auth, authInfoOf(ctx, req), grpcErrorString, () => identify(ctx, req));
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
            res.writeHead(200, GATEWAY_STREAM_HEADERS);
          }
          res.write(streamLine(frame));
        },
        full: () => res.writableLength > ctx.config.wsHighWaterBytes,
        kill: () => res.destroy(),
      },
      { maxUnreadableMs: ctx.config.wsMaxUnreadableMs, maxFrameBytes: ctx.config.maxBodyBytes, counters: ctx.streamStats.http },
    );
    const conn: WatchConnection = {
      shutdown: () => {
        ended = true;
        if (!started) res.writeHead(200, GATEWAY_STREAM_HEADERS);
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
            value = parseJson(piece.text);
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

/**
 * A frame as the one chunk it is sent in, newline included. The shared event bytes are copied
 * once into the message's own buffer (a memcpy; the events are still encoded once for every
 * watcher): a separate write for them would be a separate HTTP chunk.
 */
export function streamLine(frame: string | WatchFramePieces): string | Buffer {
  if (typeof frame === 'string') return frame + '\n';
  if (!frame.events) return frame.head + frame.tail + '\n';
  const headBytes = Buffer.byteLength(frame.head, 'utf8');
  const line = Buffer.allocUnsafe(headBytes + frame.events.length + frame.tail.length + 1);
  line.write(frame.head, 0, 'utf8');
  let off = headBytes + frame.events.copy(line, headBytes);
  off += line.write(frame.tail, off, 'latin1'); // tail is ASCII (`}}`)
  line[off] = 0x0a;
  return line;
}
