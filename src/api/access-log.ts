/**
 * The access log: at level debug, one line per request with its method, path, status and
 * duration, written when the exchange ends. fastify's own request logging stays off (two lines
 * per request, at info, with the whole request object); this is the one line an operator greps.
 * At info and above the hook is not even installed, so the hot path pays nothing for it.
 *
 * Streams are requests too: a streaming POST /v3/watch or a snapshot is logged when its response
 * closes (duration = the stream's life), a WebSocket watch when its socket closes, with status
 * 101. Those replies are hijacked, so fastify's onResponse never sees them; the raw response's
 * (or the upgraded socket's) close event does, for every kind alike.
 */
import type { FastifyInstance } from 'fastify';

export function accessLog(app: FastifyInstance): void {
  // pino's levelVal: debug is 20; a higher threshold would drop every line anyway.
  if ((app.log as unknown as { levelVal: number }).levelVal > 20) return;
  app.addHook('onRequest', async (req, reply) => {
    const started = process.hrtime.bigint();
    const upgrade = req.headers.upgrade?.toLowerCase() === 'websocket';
    let logged = false;
    const log = () => {
      if (logged) return;
      logged = true;
      req.log.debug(
        {
          method: req.method,
          path: req.url.split('?')[0],
          status: upgrade ? 101 : reply.raw.statusCode,
          durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3,
        },
        'request',
      );
    };
    if (upgrade) req.raw.socket.once('close', log);
    else reply.raw.once('close', log);
  });
}
