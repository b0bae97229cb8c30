/**
 * The unary Lease endpoints, at both paths etcd 3.4's gateway serves: /v3/lease/{grant,revoke,
 * timetolive,leases}, and /v3/kv/lease/{revoke,timetolive,leases} (the older spelling).
 * Keep-alive is a stream: routes/lease-keepalive.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import { parseJsonObject, type JsonObject } from '../json-read.ts';
import { decodeLeaseGrant, decodeLeaseId, decodeLeaseTimeToLive, encodeLeaseGrant, encodeLeaseLeases, encodeLeaseTimeToLive } from '../json-lease.ts';
import { encodeHeader } from '../json.ts';
import { sendJson } from '../send-json.ts';
import { allow } from '../security/request-auth.ts';

/** The keys attached to a lease (none when it does not exist: the revoke then says so). */
export async function leaseKeys(ctx: ApiContext, id: bigint): Promise<Buffer[]> {
  if (!ctx.auth.enabled) return [];
  try {
    return [...((await ctx.lessor.timeToLive(id, true)).keys ?? [])];
  } catch {
    return [];
  }
}

function body(raw: unknown): JsonObject {
  return parseJsonObject(typeof raw === 'string' ? raw : raw === undefined ? '' : String(raw));
}

export function leaseRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { lessor, identity: id } = ctx;
  app.post('/v3/lease/grant', async (req, reply) => {
    const g = decodeLeaseGrant(body(req.body));
    return sendJson(reply, 200, encodeLeaseGrant(id, await lessor.grant(g.id, g.ttlSeconds)));
  });
  for (const prefix of ['/v3/lease', '/v3/kv/lease']) {
    app.post(`${prefix}/revoke`, async (req, reply) => {
      const leaseId = decodeLeaseId(body(req.body));
      allow(ctx, req, { kind: 'leaseRevoke', keys: await leaseKeys(ctx, leaseId) });
      const r = await lessor.revoke(leaseId);
      return sendJson(reply, 200, `{"header":${encodeHeader(id, r.revision)}}`);
    });
    app.post(`${prefix}/timetolive`, async (req, reply) => {
      const t = decodeLeaseTimeToLive(body(req.body));
      return sendJson(reply, 200, encodeLeaseTimeToLive(id, ctx.kv.currentRevision(), await lessor.timeToLive(t.id, t.keys)));
    });
    app.post(`${prefix}/leases`, async (req, reply) => {
      body(req.body); // a malformed body is still refused, as etcd does
      return sendJson(reply, 200, encodeLeaseLeases(id, ctx.kv.currentRevision(), await lessor.leases()));
    });
  }
}
