/**
 * The `watchkv` CLI against a server with auth on: `--user name:password` (etcdctl's form),
 * `--user` + `--password`, $WATCHKV_USER / $WATCHKV_PASSWORD, a watch signed in over the
 * WebSocket, and clear errors for no credentials, a missing password or a denied key.
 */
import { test } from 'uvu';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { cli, cliProcess } from './support.ts';
import { WatchKvClient } from '../../src/client/node.ts';

let s: TestServer;
let E: string[];
const b = (x: string): string => Buffer.from(x).toString('base64');

async function admin(path: string, body: object, token?: string): Promise<void> {
  const res = await fetch(s.url + path, { method: 'POST', headers: token ? { authorization: token } : {}, body: JSON.stringify(body) });
  assert.ok(res.ok, `${path}: ${res.status} ${await res.text()}`);
}

test.before(async () => {
  s = await startTestServer({}, { memory: true });
  E = ['--endpoints', s.url];
  await admin('/v3/auth/user/add', { name: 'root', password: 'rootpw' });
  await admin('/v3/auth/user/grant', { user: 'root', role: 'root' });
  await admin('/v3/auth/role/add', { name: 'app' });
  await admin('/v3/auth/role/grant', { name: 'app', perm: { permType: 'READWRITE', key: b('/app/'), range_end: b('/app0') } });
  await admin('/v3/auth/user/add', { name: 'alice', password: 'alicepw' });
  await admin('/v3/auth/user/grant', { user: 'alice', role: 'app' });
  await admin('/v3/auth/enable', {});
});
test.after(async () => {
  await s.stop();
});

test('--user name:password, --user with --password, and the environment all sign in', async () => {
  assert.equal(await cli([...E, '--user', 'alice:alicepw', 'put', '/app/a', '1']), { code: 0, stdout: 'OK\n', stderr: '' });
  assert.equal(await cli([...E, '--user', 'alice', '--password', 'alicepw', 'get', '/app/a']), { code: 0, stdout: '/app/a\n1\n', stderr: '' });
  const env = { WATCHKV_USER: 'alice', WATCHKV_PASSWORD: 'alicepw' };
  assert.equal(await cli([...E, 'get', '/app/a', '--print-value-only'], { env }), { code: 0, stdout: '1\n', stderr: '' });
  // etcdctl's variables, as a shell set up for etcdctl has them.
  assert.equal(await cli([...E, 'get', '/app/a', '--print-value-only'], { env: { ETCDCTL_USER: 'alice:alicepw' } }), { code: 0, stdout: '1\n', stderr: '' });
});

test('no credentials, no password, a wrong one, or a key the user may not touch: one clear line each', async () => {
  const anon = await cli([...E, 'get', '/app/a']);
  assert.is(anon.code, 1);
  assert.is(anon.stderr, 'watchkv: etcdserver: user name is empty (code 3)\n');
  const noPw = await cli([...E, '--user', 'alice', 'get', '/app/a'], { env: { WATCHKV_PASSWORD: '' } });
  assert.is(noPw.code, 2);
  assert.match(noPw.stderr, /--user alice: no password/);
  const wrong = await cli([...E, '--user', 'alice:nope', 'get', '/app/a']);
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, /authentication failed, invalid user ID or password/);
  const denied = await cli([...E, '--user', 'alice:alicepw', 'put', '/other', 'x']);
  assert.is(denied.code, 1);
  assert.match(denied.stderr, /etcdserver: permission denied \(code 7\)/);
  // Snapshot is root only; the refusal comes in etcd's Maintenance words and the stream's error shape.
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-cli-auth-'));
  try {
    const snap = await cli([...E, '--user', 'alice:alicepw', 'snapshot', 'save', join(dir, 's.db')]);
    assert.is(snap.code, 1, snap.stderr);
    assert.match(snap.stderr, `answered 500: auth: permission denied`);
    assert.is(existsSync(join(dir, 's.db')), false, 'no file left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('watch signs in over the WebSocket and prints what the user may read', async () => {
  const root = new WatchKvClient({ endpoints: [s.url], auth: { username: 'root', password: 'rootpw' } });
  const w = cliProcess([...E, '--user', 'alice:alicepw', 'watch', '/app/w', '--prefix']);
  try {
    for (let i = 0; !w.output().includes('/app/w-ping'); i++) {
      if (i === 100) throw new Error(`the watch did not start: ${w.errors()}`);
      await root.put('/app/w-ping', 'x');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.is(w.errors(), '');
  } finally {
    w.child.kill('SIGINT');
    root.close();
  }
  assert.is(await w.exited, 0);
});

test.run();
