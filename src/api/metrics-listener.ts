/**
 * `--listen-metrics-urls`, as etcd's: extra plain-HTTP listeners that serve only `GET /metrics`
 * and `GET /health` (a Kubernetes static pod points its liveness probe and Prometheus there, and
 * keeps the client port for clients). Each request is answered by the main app itself
 * (fastify.inject), so the figures, the health answer and the request counters are the same
 * ones the client URLs give; every other path is Go's `404 page not found`, as etcd's listener.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';

export interface MetricsListeners {
  /** The bound URLs (a port 0 resolved). */
  urls: string[];
  close(): Promise<void>;
}

const SERVED = new Set(['/metrics', '/health']);

export async function listenMetricsUrls(urls: readonly string[], app: FastifyInstance): Promise<MetricsListeners> {
  const servers: http.Server[] = [];
  const bound: string[] = [];
  // A scraper's keep-alive connection must not hold shutdown up: every connection goes at once.
  const closeAll = (): Promise<void> =>
    Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
            s.closeAllConnections();
          }),
      ),
    ).then(() => undefined);
  try {
    for (const u of urls) {
      const url = new URL(u);
      const server = http.createServer((req, res) => void answer(app, req, res));
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(url.port), url.hostname.replace(/^\[|\]$/g, ''), () => resolve());
      });
      const port = (server.address() as AddressInfo).port;
      bound.push(`http://${url.hostname}:${port}`);
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { urls: bound, close: closeAll };
}

async function answer(app: FastifyInstance, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  if (!SERVED.has(path) || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
    return;
  }
  req.resume();
  try {
    const r = await app.inject({ method: req.method, url: req.url ?? path });
    const headers: http.OutgoingHttpHeaders = {};
    for (const name of ['content-type', 'content-length']) if (r.headers[name] !== undefined) headers[name] = r.headers[name];
    res.writeHead(r.statusCode, headers).end(req.method === 'HEAD' ? undefined : r.rawPayload);
  } catch {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('unavailable\n');
  }
}
