/**
 * Plain REST over the store, beside the etcd gateway: `/v1/kv/{key}` with the key percent-encoded
 * in the path (key-path.ts) and the value as the raw body.
 *
 *   GET    /v1/kv/{key}           one key as JSON (rest-json.ts); ?raw = the bare value bytes;
 *                                 ?rev=N reads history; ETag = mod_revision; 404 when absent
 *   GET    /v1/kv/{prefix}?prefix {"revision","count","kvs":[…],"more"}; ?limit, ?keys_only, ?rev
 *   PUT    /v1/kv/{key}           body = value → {"revision"}; ?lease=ID; If-Match/If-None-Match
 *   DELETE /v1/kv/{key}           {"revision","deleted"}; ?prefix; If-Match/If-None-Match
 *
 * Every answer carries `X-Watchkv-Revision` (the store revision it reflects). Conditional
 * writes are compare-and-swap: the key is read, the condition checked, and the write runs as a
 * txn guarded by the mod_revision that was read, so a concurrent write in between also gives 412.
 * Errors are thrown and leave through the app's one error handler (one JSON shape, error-map.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.ts';
import type { KeyValue, RequestOp } from '../../mvcc/kv.ts';
import { kvError } from '../../errors.ts';
import { sendJson } from '../send-json.ts';
import { allow } from '../security/request-auth.ts';
import { keyFromUrl, prefixRange } from './key-path.ts';
import { encodeRestKv } from './rest-json.ts';
import { count, flag, leaseId, type Query } from './rest-query.ts';
import { etagOf, ifMatchHolds, ifNoneMatchHolds, parseTags, type TagList } from './preconditions.ts';

const PREFIX = '/v1/kv/';
const REVISION_HEADER = 'x-watchkv-revision';

export async function restKvRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { kv } = ctx;
  // Values are raw bytes whatever the content type; the usual body limit applies.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ctx.config.maxBodyBytes }, (_req, body, done) => done(null, body));

  const keyOf = (req: FastifyRequest, allowEmpty: boolean): Buffer => {
    const key = keyFromUrl(req.originalUrl, PREFIX);
    if (key.length === 0 && !allowEmpty) throw kvError('ERR_KEY_NOT_PROVIDED', 'key is not provided: put it in the path, /v1/kv/{key}');
    return key;
  };

  /** Checks If-Match / If-None-Match; returns the guard for the write (mod_revision seen), or undefined when unconditional. */
  const precondition = async (req: FastifyRequest, key: Buffer): Promise<number | undefined> => {
    const ifMatch = parseTags(req.headers['if-match']);
    const ifNoneMatch = parseTags(req.headers['if-none-match']);
    if (!ifMatch && !ifNoneMatch) return undefined;
    const cur = (await kv.range({ key })).kvs[0];
    if (ifMatch && !ifMatchHolds(ifMatch, cur)) throw failed('If-Match', ifMatch, cur);
    if (ifNoneMatch && !ifNoneMatchHolds(ifNoneMatch, cur)) throw failed('If-None-Match', ifNoneMatch, cur);
    return cur?.modRevision ?? 0;
  };

  /** Runs `op` only while the key's mod_revision is still `guard` (0 = still absent). */
  const guarded = async (key: Buffer, guard: number, op: RequestOp) => {
    const t = await kv.txn({ compare: [{ key, target: 'MOD', result: 'EQUAL', modRevision: guard }], success: [op], failure: [] });
    if (!t.succeeded) throw kvError('ERR_PRECONDITION_FAILED', 'precondition failed: the key changed while the request ran');
    return t.responses[0]!;
  };

  app.get(`${PREFIX}*`, async (req, reply) => {
    const q = req.query as Query;
    const rev = count(q, 'rev');
    if (flag(q, 'prefix')) {
      const keysOnly = flag(q, 'keys_only');
      const range = { ...prefixRange(keyOf(req, true)), revision: rev, limit: count(q, 'limit'), keysOnly };
      allow(ctx, req, { kind: 'range', req: range });
      const r = await kv.range(range);
      const kvs = r.kvs.map((k) => encodeRestKv(k, keysOnly)).join(',');
      reply.header(REVISION_HEADER, String(r.revision));
      return sendJson(reply, 200, `{"revision":${r.revision},"count":${r.count},"kvs":[${kvs}],"more":${r.more}}`);
    }
    const one = { key: keyOf(req, false), revision: rev };
    allow(ctx, req, { kind: 'range', req: one });
    const r = await kv.range(one);
    reply.header(REVISION_HEADER, String(r.revision));
    const found = r.kvs[0];
    if (!found) throw kvError('ERR_NOT_FOUND', rev ? `key not found at revision ${rev}` : 'key not found');
    reply.header('etag', etagOf(found));
    const inm = parseTags(req.headers['if-none-match']);
    if (inm && !ifNoneMatchHolds(inm, found)) return reply.code(304).send();
    if (flag(q, 'raw')) return reply.code(200).header('content-type', 'application/octet-stream').send(found.value);
    return sendJson(reply, 200, encodeRestKv(found));
  });

  app.put(`${PREFIX}*`, async (req, reply) => {
    const q = req.query as Query;
    const key = keyOf(req, false);
    const value = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    // The lease id goes to the store, which refuses an unknown one (ERR_LEASE_NOT_FOUND).
    const put = { key, value, lease: leaseId(q) };
    // A precondition reads the key (a txn compare), so it needs read as well, as in etcd.
    allow(ctx, req, { kind: 'put', req: { ...put, prevKv: hasPrecondition(req) } });
    const guard = await precondition(req, key);
    let revision: number;
    if (guard === undefined) revision = (await kv.put(put)).revision;
    else {
      const op = await guarded(key, guard, { put });
      revision = 'put' in op ? op.put.revision : 0;
    }
    return written(reply, revision, `{"revision":${revision}}`, true);
  });

  app.delete(`${PREFIX}*`, async (req, reply) => {
    const q = req.query as Query;
    if (flag(q, 'prefix')) {
      if (req.headers['if-match'] || req.headers['if-none-match']) {
        throw kvError('ERR_INVALID_ARGUMENT', 'If-Match / If-None-Match apply to one key, not to ?prefix');
      }
      const range = prefixRange(keyOf(req, true));
      allow(ctx, req, { kind: 'deleteRange', req: range });
      const r = await kv.deleteRange(range);
      return written(reply, r.revision, `{"revision":${r.revision},"deleted":${r.deleted}}`, false);
    }
    const key = keyOf(req, false);
    allow(ctx, req, { kind: 'deleteRange', req: { key, prevKv: hasPrecondition(req) } });
    const guard = await precondition(req, key);
    let r = { revision: 0, deleted: 0 };
    if (guard === undefined) r = await kv.deleteRange({ key });
    else {
      const op = await guarded(key, guard, { deleteRange: { key } });
      if ('deleteRange' in op) r = op.deleteRange;
    }
    return written(reply, r.revision, `{"revision":${r.revision},"deleted":${r.deleted}}`, false);
  });
}

function hasPrecondition(req: FastifyRequest): boolean {
  return req.headers['if-match'] !== undefined || req.headers['if-none-match'] !== undefined;
}

function written(reply: FastifyReply, revision: number, body: string, etag: boolean): FastifyReply {
  reply.header(REVISION_HEADER, String(revision));
  // After a put the key's mod_revision is the write's revision: the tag for the next If-Match.
  if (etag) reply.header('etag', `"${revision}"`);
  return sendJson(reply, 200, body);
}

function failed(header: string, tags: TagList, cur: KeyValue | undefined) {
  const want = tags === '*' ? '*' : tags.map((t) => `${t.weak ? 'W/' : ''}"${t.tag}"`).join(', ');
  const have = cur ? `is at mod_revision ${cur.modRevision} (ETag "${cur.modRevision}")` : 'does not exist';
  return kvError('ERR_PRECONDITION_FAILED', `precondition failed: ${header}: ${want}, but the key ${have}`);
}
