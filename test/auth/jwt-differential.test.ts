/**
 * JWT auth tokens (--auth-token jwt,...), compared with a real etcd 3.4 given the same key:
 * the token's shape and claims, each server accepting the other's tokens, forged and
 * wrong-algorithm tokens, the "revision of auth store is old" rule after an auth change (and
 * etcdctl signing in again by itself), a refused watch's reason, expiry at the ttl, and a
 * token outliving a watchkv restart.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcdTarget, watchkvConfig, type Target } from '../support/etcd-pair.ts';
import { ctl } from '../support/etcdctl.ts';
import { startServer, type RunningServer } from '../../src/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'watchkv-jwt-'));
const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
writeFileSync(join(dir, 'priv.pem'), keys.privateKey);
writeFileSync(join(dir, 'pub.pem'), keys.publicKey);
const TTL_S = 4;
const FLAGS = ['--auth-token', `jwt,pub-key=${join(dir, 'pub.pem')},priv-key=${join(dir, 'priv.pem')},sign-method=RS256,ttl=${TTL_S}s`];

let etcd: Target;
let wk: Target;
let server: RunningServer;
const wkDir = join(dir, 'data');

async function startWk(): Promise<void> {
  server = await startServer(watchkvConfig(wkDir, FLAGS));
  wk = { url: server.address, stop: () => server.close() };
}

const b = (s: string): string => Buffer.from(s).toString('base64');

async function post(t: Target, path: string, body: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(t.url + path, { method: 'POST', headers: token ? { authorization: token } : {}, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  delete json.header;
  return { status: res.status, json };
}

async function signIn(t: Target, name = 'root', password = 'rootpw'): Promise<string> {
  const r = await post(t, '/v3/auth/authenticate', { name, password });
  assert.is(r.status, 200, JSON.stringify(r.json));
  return r.json.token as string;
}

const part = (token: string, i: number): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[i]!, 'base64url').toString());

/** The same request with each server's own kind of token: the answers must match. */
async function both(path: string, body: unknown, token: (t: Target) => Promise<string> | string): Promise<{ status: number; json: Record<string, unknown> }> {
  const [e, w] = await Promise.all([etcd, wk].map(async (t) => post(t, path, body, await token(t))));
  assert.equal(w, e, `${path}: watchkv answered differently from etcd`);
  return w!;
}

/** The first line of a streaming-HTTP watch. */
async function firstWatchLine(t: Target, token: string, key: string): Promise<Record<string, unknown>> {
  const ac = new AbortController();
  const res = await fetch(t.url + '/v3/watch', { method: 'POST', headers: { authorization: token }, body: JSON.stringify({ create_request: { key: b(key) } }), signal: ac.signal });
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString();
  }
  ac.abort();
  const result = (JSON.parse(text.split('\n')[0]!) as { result: Record<string, unknown> }).result;
  delete result.header;
  return result;
}

test.before(async () => {
  [etcd] = await Promise.all([startEtcdTarget(FLAGS), startWk()]);
  for (const t of [etcd, wk]) {
    for (const args of [['user', 'add', 'root:rootpw'], ['user', 'grant-role', 'root', 'root'], ['role', 'add', 'app'], ['role', 'grant-permission', 'app', 'read', 'a'], ['user', 'add', 'alice:alicepw'], ['user', 'grant-role', 'alice', 'app'], ['auth', 'enable']]) {
      const r = await ctl(t, args);
      assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
  }
});

test.after(async () => {
  await Promise.all([etcd?.stop(), wk?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

test('sign-in gives a JWT of etcd\'s shape and claims, and each server accepts the other\'s', async () => {
  const [te, tw] = [await signIn(etcd), await signIn(wk)];
  assert.equal(part(tw, 0), part(te, 0));
  assert.equal(part(tw, 0), { alg: 'RS256', typ: 'JWT' });
  const [ce, cw] = [part(te, 1), part(tw, 1)];
  assert.equal(Object.keys(cw), Object.keys(ce));
  assert.equal({ ...cw, exp: 0 }, { ...ce, exp: 0 }); // username and the auth revision agree
  assert.is(cw.username, 'root');
  assert.ok(Math.abs((cw.exp as number) - Date.now() / 1000 - TTL_S) <= 2, `exp ${cw.exp}`);
  // The same key signs alike, so a token from one server works on the other.
  assert.is((await post(wk, '/v3/kv/put', { key: b('a'), value: b('signed by the other') }, te)).status, 200);
  assert.is((await post(etcd, '/v3/kv/put', { key: b('a'), value: b('signed by the other') }, tw)).status, 200);
});

test('altered, unsigned and other-algorithm tokens are refused alike', async () => {
  const forge = {
    // alice's claims under root's signature
    altered: async (t: Target) => {
      const [h, , s] = (await signIn(t)).split('.');
      return `${h}.${Buffer.from(JSON.stringify({ ...part(await signIn(t), 1), username: 'alice' })).toString('base64url')}.${s}`;
    },
    unsigned: async (t: Target) => {
      const tok = await signIn(t);
      return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${tok.split('.')[1]}.`;
    },
    // The classic confusion: HS256 keyed with the RSA public key's PEM.
    hs256WithPublicKey: async (t: Target) => {
      const body = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${(await signIn(t)).split('.')[1]}`;
      return `${body}.${createHmac('sha256', keys.publicKey).update(body).digest('base64url')}`;
    },
    garbage: () => 'not.a.jwt',
  };
  for (const [name, make] of Object.entries(forge)) {
    const r = await both('/v3/kv/range', { key: b('a') }, make);
    assert.is(r.status, 401, name);
    assert.is(r.json.message, 'etcdserver: invalid auth token', name);
  }
});

test('after an auth change, earlier tokens are old for reads, writes and watches, not for admin calls', async () => {
  const old = { etcd: await signIn(etcd), wk: await signIn(wk) };
  const tok = (t: Target): string => (t === etcd ? old.etcd : old.wk);
  for (const t of [etcd, wk]) assert.is((await ctl(t, ['--user=root:rootpw', 'user', 'add', 'bob:bobpw'])).code, 0);
  for (const [path, body] of [['/v3/kv/put', { key: b('a'), value: b('x') }], ['/v3/kv/range', { key: b('a') }], ['/v3/kv/txn', {}]] as const) {
    const r = await both(path, body, tok);
    assert.is(r.status, 400, path);
    assert.is(r.json.message, 'etcdserver: revision of auth store is old', path);
  }
  const list = await both('/v3/auth/user/list', {}, tok);
  assert.is(list.status, 200);
  const [we, ww] = await Promise.all([firstWatchLine(etcd, old.etcd, 'a'), firstWatchLine(wk, old.wk, 'a')]);
  assert.equal(ww, we);
  assert.is(ww.cancel_reason, 'rpc error: code = InvalidArgument desc = etcdserver: revision of auth store is old');
  // A fresh sign-in works again.
  assert.is((await both('/v3/kv/range', { key: b('a') }, (t) => signIn(t))).status, 200);
});

test('etcdctl signs in again by itself when its token went old (a lock released after an auth change)', async () => {
  for (const t of [etcd, wk]) {
    const inner = `etcdctl --endpoints=${t.url} --user=root:rootpw`;
    const r = await ctl(t, ['--user=root:rootpw', 'lock', 'L', '--', 'sh', '-c', `${inner} user add carol:carolpw && ${inner} put k v`]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'User carol created\nOK\n');
    const left = await ctl(t, ['--user=root:rootpw', 'get', '--prefix', 'L', '--keys-only']);
    assert.is(left.stdout, '', 'the lock key was deleted with a refreshed token');
  }
});

test('a refused watch create reads as etcd\'s status string, through etcdctl too', async () => {
  const [e, w] = await Promise.all([etcd, wk].map((t) => ctl(t, ['--user=alice:alicepw', 'watch', 'z'])));
  assert.is(w!.code, e!.code);
  assert.is(w!.stderr, e!.stderr);
  assert.ok(w!.stderr.includes('watch was canceled (rpc error: code = PermissionDenied desc = etcdserver: permission denied)'), w!.stderr);
});

test('watchkv: a JWT outlives a restart (simple tokens do not)', async () => {
  const tok = await signIn(wk);
  await server.close();
  await startWk();
  const r = await post(wk, '/v3/kv/range', { key: b('a') }, tok);
  assert.is(r.status, 200, JSON.stringify(r.json));
});

test('a JWT is refused once its ttl has passed', async () => {
  const tokens = { etcd: await signIn(etcd), wk: await signIn(wk) };
  const exp = part(tokens.wk, 1).exp as number;
  await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 1100));
  const r = await both('/v3/kv/range', { key: b('a') }, (t) => (t === etcd ? tokens.etcd : tokens.wk));
  assert.is(r.status, 401);
  assert.is(r.json.message, 'etcdserver: invalid auth token');
});

test.run();
