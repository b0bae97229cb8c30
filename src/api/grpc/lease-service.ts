/**
 * etcdserverpb.Lease over the lessor (src/lease/lease-api.ts), answering as etcd 3.4's v3rpc:
 * - LeaseGrant: {ID, TTL} of the lease granted (TTL raised to the minimum by the lessor).
 * - LeaseRevoke: the header at the revision after the revoke (unknown id → NotFound).
 * - LeaseKeepAlive: one response per request, in order, {ID, TTL}; an unknown or expired lease
 *   answers TTL 0, not an error, so the client stops renewing.
 * - LeaseTimeToLive: TTL -1 (not an error) for an unknown lease.
 * - LeaseLeases: every live lease id.
 */
import { status, type ServerDuplexStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext, WatchConnection } from '../context.ts';
import type { Lessor } from '../../lease/lease-api.ts';
import { ERROR_MESSAGES } from '../../errors.ts';
import { grpcStatus } from '../error-map.ts';
import { int64, type Msg } from './decode.ts';
import { headerObject } from './header.ts';
import { unary, type GrpcLog } from './unary.ts';
import { grpcAuthInfo } from './grpc-auth.ts';
import { authorize } from '../../auth/auth-check.ts';
import { leaseKeys } from '../routes/lease.ts';

export function leaseService(ctx: ApiContext, log: GrpcLog): UntypedServiceImplementation {
  const { identity: id, kv, lessor } = ctx;
  const header = (revision = kv.currentRevision()) => headerObject(id, revision);
  return {
    LeaseGrant: unary(log, 'LeaseGrant', async (m) => {
      const g = await lessor.grant(int64(m.ID), Number(m.TTL));
      return { header: header(g.revision), ID: String(g.id), TTL: String(g.ttlSeconds), error: '' };
    }),
    LeaseRevoke: unary(log, 'LeaseRevoke', async (m, call) => {
      const leaseId = int64(m.ID);
      authorize(ctx.auth, grpcAuthInfo(ctx, call), { kind: 'leaseRevoke', keys: await leaseKeys(ctx, leaseId) });
      return { header: header((await lessor.revoke(leaseId)).revision) };
    }),
    LeaseTimeToLive: unary(log, 'LeaseTimeToLive', async (m) => {
      const t = await lessor.timeToLive(int64(m.ID), m.keys === true);
      return { header: header(), ID: String(t.id), TTL: String(t.ttlSeconds), grantedTTL: String(t.grantedTtlSeconds), keys: t.keys };
    }),
    LeaseLeases: unary(log, 'LeaseLeases', async () => ({ header: header(), leases: (await lessor.leases()).map((l) => ({ ID: String(l) })) })),
    LeaseKeepAlive: (call: ServerDuplexStream<Msg, object>) => keepAlive(ctx, log, lessor, call),
  };
}

function keepAlive(ctx: ApiContext, log: GrpcLog, lessor: Lessor, call: ServerDuplexStream<Msg, object>): void {
  if (!ctx.serving) return void call.emit('error', { code: status.UNAVAILABLE, details: ERROR_MESSAGES.ERR_STOPPED });
  let ended = false;
  // Renewals run one after another so responses keep the order of the requests.
  let chain: Promise<void> = Promise.resolve();
  const conn: WatchConnection = { shutdown: () => end({ code: status.UNAVAILABLE, details: ERROR_MESSAGES.ERR_STOPPED }) };
  ctx.connections.add(conn);
  function cleanup(): void {
    ended = true;
    ctx.connections.delete(conn);
  }
  function end(err?: { code: number; details: string }): void {
    if (ended) return;
    cleanup();
    if (err) call.emit('error', err);
    else call.end();
  }
  call.on('data', (m: Msg) => {
    const leaseId = int64(m.ID);
    chain = chain.then(async () => {
      if (ended) return;
      try {
        const ttl = await lessor.renew(leaseId);
        if (!ended) call.write({ header: headerObject(ctx.identity, ctx.kv.currentRevision()), ID: String(leaseId), TTL: String(ttl) });
      } catch (err) {
        const s = grpcStatus(err);
        if (s.unexpected) log.error({ err, method: 'LeaseKeepAlive' }, 'gRPC request failed');
        end({ code: s.code, details: s.details });
      }
    });
  });
  call.on('end', () => void chain.then(() => end()));
  call.on('cancelled', cleanup);
  call.on('close', cleanup);
  call.on('error', cleanup);
}
