/**
 * With auth enabled, queue routes check the queue's key range /queues/{name}/ as /v1/kv checks
 * keys: READWRITE on it consumes, READ alone only looks, nothing → 403; no token → 400/401.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../../support/test-server.ts';

let s: TestServer;
const b = (x: string): string => Buffer.from(x).toString('base64');
let rootTok = '';
let userTok = '';

async function req(method: string, path: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) };
  const r = await fetch(s.url + path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers });
  return { status: r.status, json: await r.json() };
}

test.before(async () => {
  s = await startTestServer({}, { memory: true });
  const prefixEnd = (p: string): string => p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);
  for (const [path, body] of [
    ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
    ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
    ['/v3/auth/role/add', { name: 'worker' }],
    ['/v3/auth/role/grant', { name: 'worker', perm: { permType: 'READWRITE', key: b('/queues/jobs/'), range_end: b(prefixEnd('/queues/jobs/')) } }],
    ['/v3/auth/role/grant', { name: 'worker', perm: { permType: 'READ', key: b('/queues/watch/'), range_end: b(prefixEnd('/queues/watch/')) } }],
    ['/v3/auth/user/add', { name: 'u', password: 'upw' }],
    ['/v3/auth/user/grant', { user: 'u', role: 'worker' }],
    ['/v3/auth/enable', {}],
  ] as const) {
    const r = await req('POST', path, body);
    assert.is(r.status, 200, `${path}: ${JSON.stringify(r.json)}`);
  }
  rootTok = (await req('POST', '/v3/auth/authenticate', { name: 'root', password: 'rootpw' })).json.token;
  userTok = (await req('POST', '/v3/auth/authenticate', { name: 'u', password: 'upw' })).json.token;
});
test.after(async () => s.stop());

test('a role with READWRITE on /queues/jobs/ uses that queue and no other', async () => {
  const enq = await req('POST', '/v1/queues/jobs/items', [1], userTok);
  assert.is(enq.status, 200, JSON.stringify(enq.json));
  const take = await req('POST', '/v1/queues/jobs/take', undefined, userTok);
  assert.is(take.json.items.length, 1);
  assert.is((await req('POST', '/v1/queues/jobs/ack', { ids: [take.json.items[0].id] }, userTok)).status, 200);
  assert.is((await req('GET', '/v1/queues/jobs', undefined, userTok)).status, 200);
  assert.is((await req('POST', '/v1/queues/other/items', [1], userTok)).status, 403);
  assert.is((await req('GET', '/v1/queues/other', undefined, userTok)).status, 403);
  assert.is((await req('PUT', '/v1/queues/other', {}, userTok)).status, 403);
  assert.is((await req('DELETE', '/v1/queues/other/items', undefined, userTok)).status, 403);
  assert.is((await req('GET', '/v1/queues', undefined, userTok)).status, 403, 'listing needs read on all of /queues/');
  assert.is((await req('GET', '/v1/queues', undefined, rootTok)).status, 200);
});

test('READ only: stats yes, enqueue and take no', async () => {
  assert.is((await req('GET', '/v1/queues/watch', undefined, userTok)).status, 200);
  assert.is((await req('POST', '/v1/queues/watch/items', [1], userTok)).status, 403);
  assert.is((await req('POST', '/v1/queues/watch/take', undefined, userTok)).status, 403);
});

test('no token or a bad one is refused', async () => {
  const none = await req('POST', '/v1/queues/jobs/items', [1]);
  assert.ok(none.status === 400 || none.status === 401, String(none.status));
  assert.is((await req('POST', '/v1/queues/jobs/items', [1], 'garbage')).status, 401);
});

test('WebSocket consume: token in the Bearer subprotocol; a queue without permission gets an error frame and close', async () => {
  const open = (q: string): Promise<{ frames: any[]; code: number | undefined; ws: WebSocket }> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`${s.url.replace('http', 'ws')}/v1/queues/${q}/consume`, ['Bearer', userTok]);
      const out = { frames: [] as any[], code: undefined as number | undefined, ws };
      ws.on('message', (d) => out.frames.push(JSON.parse(String(d))));
      ws.on('close', (code) => {
        out.code = code;
        resolve(out);
      });
      ws.on('open', () => setTimeout(() => resolve(out), 300));
      ws.on('unexpected-response', (_q, res) => reject(new Error(`refused ${res.statusCode}`)));
      ws.on('error', reject);
    });
  const denied = await open('other');
  await new Promise((r) => setTimeout(r, 100));
  assert.is(denied.frames[0]?.error?.code, 7, JSON.stringify(denied.frames));
  assert.is(denied.code, 1008);
  const ok = await open('jobs');
  assert.is(ok.code, undefined);
  ok.ws.send(JSON.stringify({ credit: 1 }));
  await req('POST', '/v1/queues/jobs/items', ['via ws'], userTok);
  await new Promise((r) => setTimeout(r, 300));
  assert.is(ok.frames.find((f) => f.deliver)?.deliver.value, 'via ws');
  ok.ws.terminate();
});

test.run();
