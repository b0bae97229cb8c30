/** Liveness and readiness probes. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';

export function healthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/healthz', async (_req, reply) => reply.header('content-type', 'application/json').send('{"health":"true"}'));
  app.get('/readyz', async (_req, reply) => {
    if (!ctx.serving) return reply.code(503).header('content-type', 'application/json').send('{"ready":false,"reason":"shutting down"}');
    return reply.header('content-type', 'application/json').send(`{"ready":true,"revision":"${ctx.kv.currentRevision()}"}`);
  });
}
