/**
 * --listen-metrics-urls: extra listeners with /metrics and /health only, answered by the main
 * app; a scraper's keep-alive connection does not hold the server's shutdown up.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { startServer } from '../../src/server.ts';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';

test('/metrics and /health on the metrics URL; anything else is 404; shutdown does not wait for a scraper', async () => {
  const s = await startServer({ listenClientUrls: 'http://127.0.0.1:0', listenMetricsUrls: ['http://127.0.0.1:0'], logLevel: 'silent' }, new MemoryBackend());
  const [metricsUrl] = s.metricsUrls;
  assert.ok(metricsUrl && metricsUrl !== s.address, `a metrics URL of its own: ${metricsUrl}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      http
        .get(metricsUrl + path, { agent }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        })
        .on('error', reject);
    });
  await fetch(`${s.address}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: 'YQ==', value: 'MQ==' }) });
  const metrics = await get('/metrics');
  assert.is(metrics.status, 200);
  assert.match(metrics.body, /\netcd_debugging_mvcc_current_revision 2\n/);
  assert.equal(await get('/health'), { status: 200, body: '{"health":"true"}' });
  assert.equal(await get('/v3/kv/range'), { status: 404, body: '404 page not found\n' });
  // A scraper that keeps asking on its keep-alive connection: close() must still finish (were it
  // to wait for that connection, this test would time out).
  let scraping = true;
  const scraper = (async () => {
    while (scraping) await get('/health').catch(() => (scraping = false));
  })();
  await s.close();
  scraping = false;
  await scraper;
  agent.destroy();
});

test.run();
