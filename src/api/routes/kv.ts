/**
 * The unary etcd KV endpoints: /v3/kv/{range,put,deleterange,txn,compaction}. Bodies arrive as
 * raw strings (app.ts's catch-all parser, since etcd clients send any content type) and are
 * decoded by json.ts; errors go to the app's handler. `send` and `body` serve the maintenance
 * routes too (maintenance.ts).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApiContext } from '../context.ts';
import * as json from '../json.ts';
import { sendJson } from '../send-json.ts';
import { ETCD_SERVER_VERSION as VERSION } from './health.ts';
import { allow } from '../security/request-auth.ts';

/** The etcd API version watchkv answers as (Status, /version): one value, kept in health.ts. */
export { VERSION };

export function send(reply: FastifyReply, body: string): FastifyReply {
  return sendJson(reply, 200, body);
}

export function body(raw: unknown): json.JsonObjectLike {
  return json.parseJsonObject(typeof raw === 'string' ? raw : raw === undefined ? '' : String(raw));
}

export function kvRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { kv, identity: id } = ctx;
  // Each decodes, then checks the user's access (security/request-auth.ts), then runs.
  app.post('/v3/kv/range', async (req, reply) => {
    const r = json.decodeRange(body(req.body));
    allow(ctx, req, { kind: 'range', req: r });
    return send(reply, json.encodeRange(id, await kv.range(r)));
  });
  app.post('/v3/kv/put', async (req, reply) => {
    const r = json.decodePut(body(req.body));
    allow(ctx, req, { kind: 'put', req: r });
    return send(reply, json.encodePut(id, await kv.put(r)));
  });
  app.post('/v3/kv/deleterange', async (req, reply) => {
    const r = json.decodeDeleteRange(body(req.body));
    allow(ctx, req, { kind: 'deleteRange', req: r });
    return send(reply, json.encodeDeleteRange(id, await kv.deleteRange(r)));
  });
  app.post('/v3/kv/txn', async (req, reply) => {
    const r = json.decodeTxn(body(req.body));
    allow(ctx, req, { kind: 'txn', req: r });
    return send(reply, json.encodeTxn(id, await kv.txn(r)));
  });
  app.post('/v3/kv/compaction', async (req, reply) => {
    const c = json.decodeCompaction(body(req.body));
    allow(ctx, req, { kind: 'admin' });
    const r = await kv.compact(c.revision, c.physical);
    return send(reply, json.encodeHeaderOnly(id, r.revision));
  });
}
