/**
 * The `watchkv` CLI against https:// servers, with etcdctl's TLS flags: --cacert for a private
 * CA, --cert/--key for a server with --client-cert-auth (the certificate's CN is the user),
 * --insecure-skip-tls-verify, and $WATCHKV_CACERT/CERT/KEY. Unary calls, a watch (wss://) and
 * `snapshot save` (which needs the root role when auth is on) all go through them. Missing or
 * unreadable files are usage errors; an untrusted server is exit 3 with the reason.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { cli, cliProcess } from './support.ts';
import { TestPki } from '../support/test-pki.ts';

const pki = new TestPki('watchkv-cli-tls-');
const f = (n: string): string => pki.path(n);

function makeCerts(): void {
  pki.ca();
  pki.leaf('server', { usage: 'server' });
  pki.leaf('root', { usage: 'client' });
}

let s: TestServer;
let cca: TestServer;
const CA = (): string[] => ['--cacert', f('ca.crt')];

/** Set-up through curl (the gateway, plainly), not through the CLI under test. */
async function post(server: TestServer, path: string, body: object, as?: { cert: string; key: string }): Promise<void> {
  // Asynchronous: the server runs in this process.
  await promisify(execFile)('curl', ['-sS', '--fail-with-body', '--http1.1', '-H', 'content-type: application/json', '--cacert', f('ca.crt'), ...(as ? ['--cert', as.cert, '--key', as.key] : []), '-d', JSON.stringify(body), server.url + path]);
}

test.before(async () => {
  makeCerts();
  s = await startTestServer({ listenClientUrls: 'https://127.0.0.1:0', certFile: f('server.crt'), keyFile: f('server.key') }, { memory: true });
  await post(s, '/v3/auth/user/add', { name: 'root', password: 'rootpw' });
  await post(s, '/v3/auth/user/grant', { user: 'root', role: 'root' });
  await post(s, '/v3/auth/enable', {});
  cca = await startTestServer(
    { listenClientUrls: 'https://127.0.0.1:0', certFile: f('server.crt'), keyFile: f('server.key'), trustedCaFile: f('ca.crt'), clientCertAuth: true },
    { memory: true },
  );
  const root = { cert: f('root.crt'), key: f('root.key') };
  await post(cca, '/v3/auth/user/add', { name: 'root', password: 'x' }, root);
  await post(cca, '/v3/auth/user/grant', { user: 'root', role: 'root' }, root);
  await post(cca, '/v3/auth/enable', {}, root);
});
test.after(async () => {
  await s?.stop();
  await cca?.stop();
  pki.remove();
});

test('--cacert: put, get and a wss:// watch; without it the server is not trusted (exit 3)', async () => {
  const E = ['--endpoints', s.url, '--user', 'root:rootpw'];
  const untrusted = await cli([...E, 'get', 'k']);
  assert.is(untrusted.code, 3, untrusted.stderr);
  assert.match(untrusted.stderr, /certificate/i);
  assert.equal(await cli([...E, ...CA(), 'put', 'k', 'v1']), { code: 0, stdout: 'OK\n', stderr: '' });
  assert.equal(await cli([...E, 'get', 'k', '--print-value-only'], { env: { WATCHKV_CACERT: f('ca.crt') } }), { code: 0, stdout: 'v1\n', stderr: '' });
  assert.equal(await cli([...E, '--insecure-skip-tls-verify', 'get', 'k', '--print-value-only']), { code: 0, stdout: 'v1\n', stderr: '' });
  const w = cliProcess([...E, ...CA(), 'watch', 'k']);
  try {
    for (let i = 0; !w.output().includes('v2'); i++) {
      if (i === 100) throw new Error(`the watch printed ${JSON.stringify(w.output())} ${w.errors()}`);
      await cli([...E, ...CA(), 'put', 'k', 'v2']);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(w.output(), /PUT\nk\nv2\n/);
  } finally {
    w.child.kill('SIGINT');
    await w.exited;
  }
});

test('snapshot save over https, signed in as root; refused without credentials', async () => {
  const out = f('s.wkv');
  const denied = await cli(['snapshot', 'save', out, ...CA()], { env: { WATCHKV_ENDPOINTS: s.url } });
  assert.is(denied.code, 1, denied.stderr);
  assert.match(denied.stderr, /user name is empty/);
  assert.not.ok(existsSync(out));
  const saved = await cli(['snapshot', 'save', out, '--endpoints', s.url, ...CA(), '--user', 'root:rootpw']);
  assert.is(saved.code, 0, saved.stderr);
  assert.match(saved.stdout, /^Snapshot saved at .*s\.wkv \(revision \d+, \d+ keys/);
});

test('--cert/--key: the certificate is the user (root) on a --client-cert-auth server', async () => {
  const E = ['--endpoints', cca.url, ...CA()];
  const noCert = await cli([...E, 'user', 'list']);
  assert.is(noCert.code, 3, JSON.stringify(noCert)); // the handshake refuses it: unreachable
  const asRoot = ['--cert', f('root.crt'), '--key', f('root.key')];
  assert.equal(await cli([...E, ...asRoot, 'user', 'list']), { code: 0, stdout: 'root\n', stderr: '' });
  assert.equal(await cli([...E, 'put', 'c', '1'], { env: { WATCHKV_CERT: f('root.crt'), WATCHKV_KEY: f('root.key') } }), { code: 0, stdout: 'OK\n', stderr: '' });
  const saved = await cli(['snapshot', 'save', f('c.wkv'), ...E, ...asRoot]);
  assert.is(saved.code, 0, saved.stderr);
});

test('TLS flags that cannot work are usage errors (exit 2) that name the problem', async () => {
  const E = ['--endpoints', cca.url];
  const half = await cli([...E, '--cert', f('root.crt'), 'get', 'k']);
  assert.is(half.code, 2);
  assert.match(half.stderr, /--cert and --key go together/);
  const missing = await cli([...E, '--cacert', f('nope.crt'), 'get', 'k']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /--cacert .*nope\.crt: ENOENT/);
});

test.run();
