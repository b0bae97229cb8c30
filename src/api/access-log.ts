/**
 * The access log: at level debug, one line per answered request with its method, path, status
 * and duration. fastify's own request logging stays off (two lines per request, at info, with
 * the whole request object); this is the one line an operator greps. At info and above the hook
 * is not even installed, so the hot path pays nothing for it.
 *
 * WebSocket watches are logged when the upgrade is answered (status 101); their frames are not
 * requests. A streaming POST /v3/watch is logged when its stream ends.
 */
import type { FastifyInstance } from 'fastify';

export function accessLog(app: FastifyInstance): void {
  // pino's levelVal: debug is 20; a higher threshold would drop every line anyway.
  if ((app.log as unknown as { levelVal: number }).levelVal > 20) return;
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug(
      {
        method: req.method,
        path: req.url.split('?')[0],
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 1000) / 1000,
      },
      'request',
    );
  });
}
