/**
 * Auth enforced on every transport of a real server: /v1 REST, SSE (token in ?token=), the
 * WebSocket watch (token in the `Bearer` subprotocol), the streaming HTTP watch, lease revoke,
 * compaction and status; revoking a permission cancels the open watches that lost read access;
 * auth state survives a restart; bad tokens and huge passwords get clear errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../support/test-server.ts';

let s: TestServer;
const b = (x: string): string => Buffer.from(x).toString('base64');
let rootTok = '';
let userTok = '';

async function post(path: string, body: object, token?: string): Promise<{ status: number; json: any }> {
  const r = await fetch(s.url + path, { method: 'POST', body: JSON.stringify(body), headers: token ? { authorization: token } : {} });
  return { status: r.status, json: await r.json() };
}

async function login(name: string, password: string): Promise<string> {
  const r = await post('/v3/auth/authenticate', { name, password });
  assert.is(r.status, 200, JSON.stringify(r.json));
  return r.json.token;
}

async function setup(): Promise<void> {
  for (const [path, body] of [
    ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
    ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
    ['/v3/auth/role/add', { name: 'reader' }],
    ['/v3/auth/role/grant', { name: 'reader', perm: { permType: 'READ', key: b('a'), range_end: b('c') } }],
    ['/v3/auth/role/grant', { name: 'reader', perm: { permType: 'READWRITE', key: b('w') } }],
    ['/v3/auth/user/add', { name: 'u', password: 'upw' }],
    ['/v3/auth/user/grant', { user: 'u', role: 'reader' }],
    ['/v3/auth/enable', {}],
  ] as const) {
    const r = await post(path, body);
    assert.is(r.status, 200, `${path}: ${JSON.stringify(r.json)}`);
  }
  rootTok = await login('root', 'rootpw');
  userTok = await login('u', 'upw');
}

function wsWatch(token: string): Promise<{ ws: WebSocket; next(): Promise<any> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(s.url.replace('http', 'ws') + '/v3/watch', ['Bearer', token]);
    const queue: any[] = [];
    const waiters: Array<(v: any) => void> = [];
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)).result;
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    });
    ws.on('open', () => resolve({ ws, next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r))) }));
    ws.on('unexpected-response', (_q, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.on('error', reject);
  });
}

function getStatus(path: string, headers: Record<string, string> = {}): Promise<{ status: number; first: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(s.url + path, { headers }, (res) => {
      res.once('data', (c) => {
        resolve({ status: res.statusCode!, first: String(c) });
        req.destroy();
      });
    });
    req.on('error', (e) => (e.message.includes('aborted') || (e as any).code === 'ECONNRESET' ? undefined : reject(e)));
  });
}

test.before(async () => {
  s = await startTestServer();
  await setup();
});
test.after(async () => {
  await s?.stop();
});

test('/v1 REST: read and write by range; no token, bad token, other keys refused', async () => {
  const put = (key: string, tok?: string) => fetch(`${s.url}/v1/kv/${key}`, { method: 'PUT', body: 'v', headers: tok ? { authorization: tok } : {} });
  assert.is((await put('w', userTok)).status, 200);
  assert.is((await put('a', userTok)).status, 403);
  assert.is((await put('a', rootTok)).status, 200);
  assert.is((await fetch(`${s.url}/v1/kv/a`, { headers: { authorization: userTok } })).status, 200);
  assert.is((await fetch(`${s.url}/v1/kv/a`, { headers: { authorization: `Bearer ${userTok}` } })).status, 200);
  assert.is((await fetch(`${s.url}/v1/kv/z`, { headers: { authorization: userTok } })).status, 403);
  assert.is((await fetch(`${s.url}/v1/kv/?prefix`, { headers: { authorization: userTok } })).status, 403);
  const none = await fetch(`${s.url}/v1/kv/a`);
  assert.is(none.status, 400);
  assert.match(await none.text(), /user name is empty/);
  for (const bad of ['garbage', 'x'.repeat(5000), 'abc.1', '\u00e9t\u00e9']) {
    const r = await fetch(`${s.url}/v1/kv/a`, { headers: { authorization: encodeURIComponent(bad) } });
    assert.is(r.status, 401);
    assert.match(await r.text(), /invalid auth token/);
  }
});

test('compaction needs root; status and member list nothing; raising an alarm root; lease revoke needs write on its keys', async () => {
  assert.is((await post('/v3/kv/compaction', { revision: 1 }, userTok)).status, 403);
  assert.is((await post('/v3/kv/compaction', { revision: 1 }, rootTok)).status, 200);
  assert.is((await post('/v3/maintenance/status', {})).status, 200);
  assert.is((await post('/v3/maintenance/status', {}, 'not-a-token')).status, 200);
  assert.is((await post('/v3/cluster/member/list', {})).status, 200);
  assert.is((await post('/v3/maintenance/alarm', {})).status, 200);
  const nospace = { action: 'ACTIVATE', memberID: '0', alarm: 'NOSPACE' };
  assert.is((await post('/v3/maintenance/alarm', nospace)).status, 400);
  assert.is((await post('/v3/maintenance/alarm', nospace, userTok)).status, 403);
  assert.is((await post('/v3/maintenance/alarm', { ...nospace, action: 'DEACTIVATE' }, userTok)).status, 403);
  assert.equal((await post('/v3/maintenance/alarm', {})).json, {});
  const lease = await post('/v3/lease/grant', { TTL: 60 }, userTok);
  assert.is(lease.status, 200);
  assert.is((await post('/v3/kv/put', { key: b('b1'), value: b('x'), lease: lease.json.ID }, rootTok)).status, 200);
  const denied = await post('/v3/lease/revoke', { ID: lease.json.ID }, userTok);
  assert.is(denied.status, 403);
  assert.is(denied.json.message, 'etcdserver: permission denied');
  assert.is((await post('/v3/lease/revoke', { ID: lease.json.ID }, rootTok)).status, 200);
});

test('SSE: ?token= grants the watch; unreadable range 403 before the stream', async () => {
  assert.is((await getStatus(`/v1/watch/z?token=${userTok}`)).status, 403);
  assert.is((await getStatus(`/v1/watch/a?token=garbage`)).status, 401);
  const ok = await getStatus(`/v1/watch/a?token=${userTok}`);
  assert.is(ok.status, 200);
});

test('WebSocket: Bearer subprotocol; denied create; revoke cancels the open watch', async () => {
  const { ws, next } = await wsWatch(userTok);
  assert.is(ws.protocol, 'Bearer');
  ws.send(JSON.stringify({ create_request: { key: b('z') } }));
  const denied = await next();
  assert.is(denied.canceled, true);
  assert.is(denied.cancel_reason, 'rpc error: code = PermissionDenied desc = etcdserver: permission denied');
  ws.send(JSON.stringify({ create_request: { key: b('a'), range_end: b('c') } }));
  const created = await next();
  assert.is(created.created, true);
  assert.not.ok(created.canceled);
  const id = created.watch_id;
  // The permission goes: the watch is canceled with etcd's reason.
  assert.is((await post('/v3/auth/role/revoke', { role: 'reader', key: b('a'), range_end: b('c') }, rootTok)).status, 200);
  const canceled = await next();
  assert.is(canceled.canceled, true);
  assert.is(canceled.watch_id, id);
  assert.is(canceled.cancel_reason, 'etcdserver: permission denied');
  ws.close();
  assert.is((await post('/v3/auth/role/grant', { name: 'reader', perm: { permType: 'READ', key: b('a'), range_end: b('c') } }, rootTok)).status, 200);
  const refused = await wsWatch('garbage').then(
    () => 'opened',
    (e: Error) => e.message,
  );
  assert.is(refused, 'upgrade refused: 401');
});

test('streaming HTTP watch: Authorization header; denied create in-stream', async () => {
  const r = await getStream('/v3/watch', JSON.stringify({ create_request: { key: b('z') } }), userTok);
  assert.match(r, /permission denied/);
  assert.match(r, /"canceled":true/);
});

function getStream(path: string, body: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(s.url + path, { method: 'POST', headers: { authorization: token } }, (res) => {
      res.once('data', (c) => {
        resolve(String(c));
        req.destroy();
      });
    });
    req.on('error', (e) => ((e as any).code === 'ECONNRESET' ? undefined : reject(e)));
    req.write(body);
  });
}

test('huge passwords: accepted up to the body limit without stalling; a wrong one fails cleanly', async () => {
  const big = 'p'.repeat(1024 * 1024);
  assert.is((await post('/v3/auth/user/add', { name: 'big', password: big }, rootTok)).status, 200);
  const tooBig = await post('/v3/auth/user/add', { name: 'big2', password: 'p'.repeat(3 * 1024 * 1024) }, rootTok);
  assert.is(tooBig.status, 429);
  assert.is((await post('/v3/auth/authenticate', { name: 'big', password: big + 'x' })).status, 400);
  assert.ok(await login('big', big));
});

test('auth state survives a restart: still enabled, same users, old tokens gone', async () => {
  const dir = s.dataDir;
  await s.stop({ keepDir: true });
  s = await startTestServer({}, { dataDir: dir });
  assert.is((await post('/v3/kv/range', { key: b('a') })).json.message, 'etcdserver: user name is empty');
  assert.is((await post('/v3/kv/range', { key: b('a') }, userTok)).status, 401);
  userTok = await login('u', 'upw');
  assert.is((await post('/v3/kv/range', { key: b('a') }, userTok)).status, 200);
  rootTok = await login('root', 'rootpw');
  const role = await post('/v3/auth/role/get', { role: 'reader' }, rootTok);
  assert.is(role.json.perm.length, 2);
});

test.run();
