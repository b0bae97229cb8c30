/**
 * GET /v1/watch/{key} — watch for browsers, as Server-Sent Events (EventSource). The key is the
 * percent-decoded path as in /v1/kv; `?prefix` watches every key under it, `?prev_kv` adds each
 * key's previous value (`prev`), `?start_revision=N` starts at revision N (inclusive).
 *
 * Resume: a reconnecting EventSource sends `Last-Event-ID: R` (the last revision it saw); the
 * watch restarts at R+1, so nothing is lost or repeated, across a server restart too. It wins
 * over start_revision (the client's own bookmark is newer than the URL's); `?last_event_id=R`
 * does the same for clients that cannot set headers.
 *
 * watchkv extensions (README "Watch extensions"): `?initial_state` (the range's keys first,
 * between `snapshot_start` and `snapshot_done` messages), `?on_compacted=resync`,
 * `?delivery=latest`, `?lag_notify` with optional `lag_notify_ms` / `lag_notify_revisions`.
 *
 * Bad parameters are a 4xx JSON error before the stream starts; the stream then counts against
 * maxWatchStreams and ends on server shutdown (EventSource reconnects by itself).
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext, WatchConnection } from '../context.ts';
import type { WatchCreateRequest } from '../../watch/watch-api.ts';
import { kvError } from '../../errors.ts';
import { grpcErrorString } from '../error-map.ts';
import { keyFromUrl, prefixEnd } from '../rest/key-path.ts';
import { count, flag, type Query } from '../rest/rest-query.ts';
import { SseSession } from './sse-session.ts';
import { lagNotifyOptions } from '../json-requests.ts';
import type { StreamCounters } from './stream-stats.ts';
import { guardedEngine } from '../../auth/watch-guard.ts';
import { allow, authInfoOf } from '../security/request-auth.ts';

const PREFIX = '/v1/watch/';

const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // nginx and similar proxies buffer responses unless told not to.
  'x-accel-buffering': 'no',
};

/** The watch request of a URL and its headers; throws a 400 for anything malformed. */
export function sseWatchRequest(url: string, query: Query, lastEventId: string | string[] | undefined): WatchCreateRequest {
  const key = keyFromUrl(url, PREFIX);
  const prefix = flag(query, 'prefix');
  if (key.length === 0 && !prefix) throw kvError('ERR_KEY_NOT_PROVIDED', 'key is not provided: watch /v1/watch/{key}, or /v1/watch/?prefix for every key');
  let startRevision = count(query, 'start_revision');
  const resumeText = Array.isArray(lastEventId) ? lastEventId[0] : lastEventId ?? (query.last_event_id as string | undefined);
  if (resumeText !== undefined && resumeText.trim() !== '') {
    if (!/^\d+$/.test(resumeText.trim())) throw kvError('ERR_INVALID_ARGUMENT', `Last-Event-ID must be a revision (a non-negative integer), got "${resumeText}"`);
    startRevision = Number(resumeText.trim()) + 1;
  }
  // etcd's prefix end: "\0" (every key) when the prefix is all 0xff bytes or empty.
  const rangeEnd = prefix ? prefixEnd(key) : undefined;
  return {
    key: key.length === 0 ? Buffer.of(0) : key,
    rangeEnd,
    startRevision,
    progressNotify: false,
    prevKv: flag(query, 'prev_kv'),
    noPut: false,
    noDelete: false,
    watchId: 0,
    fragment: false,
    ...sseExtensions(query, startRevision),
  };
}

function sseExtensions(query: Query, startRevision: number): Pick<WatchCreateRequest, 'initialState' | 'onCompacted' | 'delivery' | 'lagNotify'> {
  const out: Pick<WatchCreateRequest, 'initialState' | 'onCompacted' | 'delivery' | 'lagNotify'> = {};
  // A resumed EventSource (Last-Event-ID) continues where it was: no second initial state.
  if (flag(query, 'initial_state') && startRevision === 0) out.initialState = true;
  const choice = (name: string, values: readonly string[]): string | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !values.includes(v)) throw kvError('ERR_INVALID_ARGUMENT', `query parameter "${name}" must be one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
    return v;
  };
  if (choice('on_compacted', ['cancel', 'resync']) === 'resync') out.onCompacted = 'resync';
  if (choice('delivery', ['exact', 'latest']) === 'latest') out.delivery = 'latest';
  const ms = query.lag_notify_ms === undefined ? undefined : count(query, 'lag_notify_ms');
  const revs = query.lag_notify_revisions === undefined ? undefined : count(query, 'lag_notify_revisions');
  const lag = lagNotifyOptions(flag(query, 'lag_notify'), ms, revs);
  if (lag) out.lagNotify = lag;
  return out;
}

export async function sseWatchRoute(app: FastifyInstance, ctx: ApiContext, stats: StreamCounters): Promise<void> {
  // No HEAD twin: a HEAD would hold a watcher open with nowhere to send its events.
  app.get(`${PREFIX}*`, { exposeHeadRoute: false }, (req, reply) => {
    const request = sseWatchRequest(req.originalUrl, req.query as Query, req.headers['last-event-id']);
    if (!ctx.serving) throw kvError('ERR_STOPPED');
    if (ctx.connections.size >= ctx.config.maxWatchStreams) throw kvError('ERR_TOO_MANY_STREAMS');
    // One watch per request: a denied range is a plain 403/401 before the stream starts.
    const rangeEnd = request.rangeEnd === undefined ? undefined : request.rangeEnd.length === 0 ? Buffer.of(0) : request.rangeEnd;
    allow(ctx, req, { kind: 'watch', key: request.key, rangeEnd });

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, STREAM_HEADERS);
    // Flushes the headers so EventSource fires `open`; the first message follows promptly.
    res.write(': watchkv\n\n');
    req.raw.socket.setNoDelay(true);
    const high = ctx.config.wsHighWaterBytes;
    const session = new SseSession(
      guardedEngine(ctx.engine, ctx.auth, authInfoOf(ctx, req), grpcErrorString),
      request,
      {
        write: (chunk) => void res.write(chunk),
        full: () => res.writableLength > high,
        end: () => res.end(),
        kill: () => res.destroy(),
      },
      { maxUnreadableMs: ctx.config.wsMaxUnreadableMs, progressIntervalMs: ctx.config.sseProgressIntervalMs, heartbeatIntervalMs: ctx.config.sseHeartbeatIntervalMs },
      stats,
    );
    const conn: WatchConnection = {
      shutdown: () => {
        session.close();
        res.end();
      },
    };
    ctx.connections.add(conn);
    res.on('drain', () => session.resume());
    res.on('close', () => {
      ctx.connections.delete(conn);
      session.close();
    });
  });
}
