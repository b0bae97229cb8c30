/**
 * The SDK against a server with auth on: signing in with `auth`, the token on every call and on
 * the watch socket (the `Bearer` subprotocol), signing in again by itself when the token goes
 * stale (a simple token expiring; a JWT older than a role change, for calls and for new watches
 * on an open socket), and typed errors: no credentials, a wrong password, a denied watch.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { InvalidArgumentError, WatchCanceledError, WatchKvClient, type WatchEvent } from '../../src/client/node.ts';
import type { ServerConfig } from '../../src/config.ts';
import { until } from './support/tcp-proxy.ts';

const dir = mkdtempSync(join(tmpdir(), 'watchkv-sdk-auth-'));
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
writeFileSync(join(dir, 'es256.pem'), privateKey);
const JWT: Partial<ServerConfig> = { authToken: { kind: 'jwt', signMethod: 'ES256', privateKeyFile: join(dir, 'es256.pem'), ttlMs: 600_000 } };

const b = (s: string): string => Buffer.from(s).toString('base64');

/** Admin calls over the gateway as root (the SDK has no user administration). */
async function admin(s: TestServer, path: string, body: object): Promise<void> {
  const auth = await fetch(s.url + '/v3/auth/authenticate', { method: 'POST', body: JSON.stringify({ name: 'root', password: 'rootpw' }) });
  const headers: Record<string, string> = auth.ok ? { authorization: ((await auth.json()) as { token: string }).token } : {};
  const res = await fetch(s.url + path, { method: 'POST', headers, body: JSON.stringify(body) });
  assert.ok(res.ok, `${path}: ${res.status} ${await res.text()}`);
}

/** root, and alice who may read and write under /app/; auth on. */
async function authServer(config: Partial<ServerConfig>): Promise<TestServer> {
  const s = await startTestServer(config, { memory: true });
  await admin(s, '/v3/auth/user/add', { name: 'root', password: 'rootpw' });
  await admin(s, '/v3/auth/user/grant', { user: 'root', role: 'root' });
  await admin(s, '/v3/auth/role/add', { name: 'app' });
  await admin(s, '/v3/auth/role/grant', { name: 'app', perm: { permType: 'READWRITE', key: b('/app/'), range_end: b('/app0') } });
  await admin(s, '/v3/auth/user/add', { name: 'alice', password: 'alicepw' });
  await admin(s, '/v3/auth/user/grant', { user: 'alice', role: 'app' });
  await admin(s, '/v3/auth/enable', {});
  return s;
}

/** A fetch that counts sign-ins, so a test can see the client renew its token. */
function countingFetch(): { fetch: typeof fetch; signIns: () => number } {
  let n = 0;
  return {
    fetch: (input, init) => {
      if (String(input).endsWith('/v3/auth/authenticate')) n++;
      return fetch(input, init);
    },
    signIns: () => n,
  };
}

/** A created prefix watch and the events it has delivered so far. */
async function watchCollecting(c: WatchKvClient, prefix: string): Promise<{ w: ReturnType<WatchKvClient['watch']>; got: WatchEvent[] }> {
  const w = c.watch(prefix, { prefix: true });
  await w.created();
  const got: WatchEvent[] = [];
  w.on('events', (batch) => got.push(...batch.events));
  return { w, got };
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('no credentials, or a wrong password: typed errors that say why', async () => {
  const s = await authServer({});
  try {
    const anon = new WatchKvClient({ endpoints: [s.url] });
    const e1 = await anon.put('/app/a', '1').catch((e: unknown) => e);
    assert.instance(e1, InvalidArgumentError);
    assert.is((e1 as Error).message, 'etcdserver: user name is empty');
    const wrong = new WatchKvClient({ endpoints: [s.url], auth: { username: 'alice', password: 'nope' } });
    const e2 = await wrong.get('/app/a').catch((e: unknown) => e);
    assert.instance(e2, InvalidArgumentError);
    assert.is((e2 as Error).message, 'etcdserver: authentication failed, invalid user ID or password');
    assert.throws(() => new WatchKvClient({ endpoints: [s.url], auth: { username: 'a', password: 'b' }, token: 't' }), /auth or token, not both/);
  } finally {
    await s.stop();
  }
});

test('signed in: calls and a watch over the Bearer subprotocol; a denied watch fails with etcd\'s reason', async () => {
  const s = await authServer({});
  const c = new WatchKvClient({ endpoints: [s.url], auth: { username: 'alice', password: 'alicepw' } });
  try {
    const { w, got } = await watchCollecting(c, '/app/');
    await c.put('/app/a', '1');
    assert.is((await c.get('/app/a'))?.value.toString(), '1');
    await until(() => got.length === 1, 'the put reaches the watch');
    const denied = c.watch('/secret/');
    const err = await denied.created().catch((e: unknown) => e);
    assert.instance(err, WatchCanceledError);
    assert.is((err as Error).message, 'rpc error: code = PermissionDenied desc = etcdserver: permission denied');
    w.close();
  } finally {
    c.close();
    await s.stop();
  }
});

test('credentials given while auth is still off: calls go without a token, then sign in once auth is on', async () => {
  const s = await startTestServer({}, { memory: true });
  const counter = countingFetch();
  const c = new WatchKvClient({ endpoints: [s.url], auth: { username: 'root', password: 'rootpw' }, fetch: counter.fetch });
  try {
    await c.auth.userAdd('root', 'rootpw'); // sign-in answered "authentication is not enabled"
    await c.auth.userGrantRole('root', 'root');
    assert.is(counter.signIns(), 1, 'not retried on every call while auth is off');
    await c.auth.enable();
    await c.put('/k', 'v'); // "user name is empty": signs in now
    assert.is(counter.signIns(), 2);
    assert.equal(await c.auth.userList(), ['root']);
  } finally {
    c.close();
    await s.stop();
  }
});

test('a simple token that expired is renewed by signing in again', async () => {
  const s = await authServer({ authTokenTtlSeconds: 1 });
  const counter = countingFetch();
  const c = new WatchKvClient({ endpoints: [s.url], auth: { username: 'alice', password: 'alicepw' }, fetch: counter.fetch });
  try {
    await c.put('/app/a', '1');
    assert.is(counter.signIns(), 1);
    await new Promise((r) => setTimeout(r, 2100)); // past the 1 s TTL
    await c.put('/app/a', '2');
    assert.is(counter.signIns(), 2);
    assert.is((await c.get('/app/a'))?.value.toString(), '2');
  } finally {
    c.close();
    await s.stop();
  }
});

test('JWT: after a role change the next call and a new watch renew the token; the open watch keeps delivering', async () => {
  const s = await authServer(JWT);
  const counter = countingFetch();
  const c = new WatchKvClient({ endpoints: [s.url], auth: { username: 'alice', password: 'alicepw' }, fetch: counter.fetch, backoff: { initialMs: 20, maxMs: 200 } });
  try {
    const { got } = await watchCollecting(c, '/app/');
    await c.put('/app/a', '1');
    assert.is(counter.signIns(), 1);
    // Any user or role change makes earlier JWTs old.
    await admin(s, '/v3/auth/user/add', { name: 'bob', password: 'bobpw' });
    await c.put('/app/a', '2');
    assert.is(counter.signIns(), 2, 'the put signed in again');
    // A new watch on the socket opened with the old token: renewed and created on a new socket.
    await admin(s, '/v3/auth/user/add', { name: 'carol', password: 'carolpw' });
    const w2 = c.watch('/app/b');
    await w2.created();
    assert.ok(counter.signIns() >= 3, 'the watch socket signed in again');
    const got2: WatchEvent[] = [];
    w2.on('events', (batch) => got2.push(...batch.events));
    await c.put('/app/b', '3');
    await until(() => got2.length === 1 && got.length === 3, 'both watches see every put');
    assert.equal(got.map((e) => e.kv.value.toString()), ['1', '2', '3']);
  } finally {
    c.close();
    await s.stop();
  }
});

test.run();
