/**
 * Health and version probes. `/health` and `/version` answer as etcd 3.4 does (etcd tooling and
 * load balancers probe them); `/healthz` and `/readyz` are watchkv's own liveness and readiness.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import { readiness } from '../readiness.ts';

/**
 * The etcd version watchkv speaks: the 3.4 gateway API and semantics it is tested against
 * (a real etcd 3.4.23). Reported by /version and /v3/maintenance/status as etcd reports its
 * own; watchkv's own version is `watchkv --version` and /metrics.
 */
export const ETCD_SERVER_VERSION = '3.4.23';
/** The cluster version a one-member 3.4 cluster settles on (etcd reports major.minor.0). */
export const ETCD_CLUSTER_VERSION = '3.4.0';

export function healthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/healthz', async (_req, reply) => reply.header('content-type', 'application/json').send('{"health":"true"}'));
  app.get('/readyz', async (_req, reply) => {
    const r = readiness(ctx);
    if (!r.ready) return reply.code(503).header('content-type', 'application/json').send(JSON.stringify({ ready: false, reason: r.reason }));
    return reply.header('content-type', 'application/json').send(`{"ready":true,"revision":"${ctx.kv.currentRevision()}"}`);
  });
  // etcd 3.4's /health: text/plain (Go's content sniffing of a JSON body), 503 + "false" when
  // the member cannot serve; for watchkv that is once shutdown began.
  app.get('/health', async (_req, reply) => {
    const ok = ctx.serving;
    return reply
      .code(ok ? 200 : 503)
      .header('content-type', 'text/plain; charset=utf-8')
      .send(Buffer.from(`{"health":"${ok}"}`));
  });
  app.get('/version', async (_req, reply) =>
    reply.header('content-type', 'application/json').send(Buffer.from(`{"etcdserver":"${ETCD_SERVER_VERSION}","etcdcluster":"${ETCD_CLUSTER_VERSION}"}`)),
  );
}
