/**
 * A GET without `Upgrade: websocket` on a WebSocket route: on etcd's paths the same answer as a
 * real etcd 3.4 (405 "Method Not Allowed", its gateway seeing a GET on a POST endpoint); on
 * watchkv's own queue consumer a 400 that says what is needed. Upgrades still work on each.
 * Unknown paths: etcd's 404 bodies; other methods and OPTIONS as etcd answers them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { pairForSuite } from '../../support/etcd-pair.ts';

const pair = pairForSuite(test);

async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const r = await fetch(url);
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

test('GET /v3/watch and /v3/lease/keepalive without an upgrade answer as etcd does', async () => {
  for (const path of ['/v3/watch', '/v3/lease/keepalive']) {
    const [etcd, wk] = await Promise.all([get(pair.etcd.url + path), get(pair.wk.url + path)]);
    assert.is(etcd.status, 405, path);
    assert.equal({ ...wk, type: wk.type.split(';')[0] }, { ...etcd, type: etcd.type.split(';')[0] }, path);
  }
});

test('unknown paths: 404 with etcd\'s body, the gateway\'s under /v3/ and /v3beta/, Go\'s elsewhere', async () => {
  for (const path of ['/v3/kv/nope', '/v3/', '/v3beta/nope', '/v3alpha/kv/range', '/v3x/a', '/v2/keys/a', '/health/x', '/nope']) {
    for (const method of ['GET', 'POST']) {
      const [etcd, wk] = await Promise.all([pair.etcd.url, pair.wk.url].map(async (u) => {
        const r = await fetch(u + path, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
        return { status: r.status, type: (r.headers.get('content-type') ?? '').split(';')[0], body: await r.text() };
      }));
      assert.is(etcd.status, 404, `${method} ${path}`);
      assert.equal(wk, etcd, `${method} ${path}`);
    }
  }
});

test('other methods: etcd\'s GET endpoints answer 405 naming GET; any OPTIONS without an Origin is an empty 200', async () => {
  const cases: Array<[string, string]> = [['POST', '/health'], ['PUT', '/version'], ['DELETE', '/health'], ['OPTIONS', '/v3/kv/range'], ['OPTIONS', '/health'], ['OPTIONS', '/nope']];
  for (const [method, path] of cases) {
    const [etcd, wk] = await Promise.all([pair.etcd.url, pair.wk.url].map(async (u) => {
      const r = await fetch(u + path, { method });
      return { status: r.status, allow: r.headers.get('allow'), type: (r.headers.get('content-type') ?? '').split(';')[0], body: await r.text() };
    }));
    assert.equal(wk, etcd, `${method} ${path}`);
  }
});

test('GET /v1/queues/NAME/consume without an upgrade: 400 saying a WebSocket is needed', async () => {
  const r = await get(pair.wk.url + '/v1/queues/jobs/consume?credit=1');
  assert.is(r.status, 400);
  assert.match(JSON.parse(r.body).message, /GET \/v1\/queues\/jobs\/consume is a WebSocket: send it with "Upgrade: websocket"/);
});

test('the same paths still upgrade', async () => {
  for (const path of ['/v3/watch', '/v3/lease/keepalive', '/v1/queues/jobs/consume']) {
    const ws = new WebSocket(pair.wk.url.replace('http', 'ws') + path);
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    ws.close();
  }
});

test.run();
