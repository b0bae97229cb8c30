/**
 * TLS on the shared port with certificates made here (openssl CLI, test/support/test-pki.ts): HTTP, WebSocket, SSE and
 * gRPC (etcdctl over ALPN h2) on one https:// port; client-certificate auth with the CN as the
 * user; wrong TLS (untrusted server cert, no client cert) and plain HTTP on the TLS port get
 * clear errors and the server keeps serving.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import https from 'node:https';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { TestPki } from '../support/test-pki.ts';

const pki = new TestPki('watchkv-tls-');
const f = (n: string): string => pki.path(n);

function makeCerts(): void {
  pki.ca();
  pki.leaf('server', { usage: 'server' });
  pki.leaf('root', { usage: 'client' });
  pki.leaf('alice', { usage: 'client' });
}

let s: TestServer;
const b = (x: string): string => Buffer.from(x).toString('base64');

function req(url: string, opts: https.RequestOptions & { body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https') ? https : http;
    const r = mod.request(url, { method: opts.body === undefined ? 'GET' : 'POST', ca: readFileSync(f('ca.crt')), ...opts }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: data }));
    });
    r.on('error', reject);
    r.end(opts.body);
  });
}

function etcdctl(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('etcdctl', [`--endpoints=${s.url}`, '--dial-timeout=3s', '--command-timeout=5s', `--cacert=${f('ca.crt')}`, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
  });
}

test.before(async () => {
  makeCerts();
  s = await startTestServer({ listenClientUrls: 'https://127.0.0.1:0', certFile: f('server.crt'), keyFile: f('server.key') }, { memory: true });
});
test.after(async () => {
  await s?.stop();
  pki.remove();
});

test('one https:// port: gateway, REST, SSE, WebSocket and gRPC (etcdctl)', async () => {
  assert.match(s.url, /^https:\/\//);
  assert.is((await req(`${s.url}/v3/kv/put`, { body: JSON.stringify({ key: b('k'), value: b('v') }) })).status, 200);
  assert.is(JSON.parse((await req(`${s.url}/v1/kv/k`)).body).value, 'v');
  const ws = new WebSocket(s.url.replace('https', 'wss') + '/v3/watch', { ca: readFileSync(f('ca.crt')) });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  ws.send(JSON.stringify({ create_request: { key: b('k') } }));
  const created = await new Promise<any>((r) => ws.once('message', (d) => r(JSON.parse(String(d)).result)));
  assert.is(created.created, true);
  ws.close();
  const sse = await new Promise<number>((resolve, reject) => {
    const r = https.get(`${s.url}/v1/watch/k`, { ca: readFileSync(f('ca.crt')) }, (res) => {
      resolve(res.statusCode!);
      r.destroy();
    });
    r.on('error', (e) => ((e as any).code === 'ECONNRESET' ? undefined : reject(e)));
  });
  assert.is(sse, 200);
  const get = await etcdctl(['get', 'k']);
  assert.is(get.code, 0, get.out);
  assert.is(get.out.trim(), 'k\nv');
  // Per-endpoint commands send `:authority: https://…`, which watchkv mends (src/api/h2-authority.ts).
  const status = await etcdctl(['endpoint', 'status']);
  assert.is(status.code, 0, status.out);
  assert.match(status.out, /3\.4\.23/);
  const defrag = await etcdctl(['defrag']);
  assert.is(defrag.code, 0, defrag.out);
});

test('wrong TLS and plain HTTP on the TLS port: clear errors, server keeps serving', async () => {
  const untrusted = await req(`${s.url}/healthz`, { ca: undefined }).then(
    () => 'ok',
    (e: Error) => e.message,
  );
  assert.match(untrusted, /self[- ]signed|unable to (get|verify)/i);
  const plain = await req(s.url.replace('https', 'http') + '/healthz');
  assert.is(plain.status, 400);
  assert.match(plain.body, /Client sent an HTTP request to an HTTPS server/);
  assert.is((await req(`${s.url}/healthz`)).status, 200);
});

test('an https:// and an http:// listener side by side: each speaks its own scheme, one store', async () => {
  const mixed = await startTestServer(
    { listenClientUrls: 'https://127.0.0.1:0,http://127.0.0.1:0', certFile: f('server.crt'), keyFile: f('server.key') },
    { memory: true },
  );
  try {
    const [tlsUrl, plainUrl] = mixed.server.addresses;
    assert.match(tlsUrl, /^https:\/\//);
    assert.match(plainUrl, /^http:\/\//);
    assert.is((await req(`${tlsUrl}/v3/kv/put`, { body: JSON.stringify({ key: b('m'), value: b('over-tls') }) })).status, 200);
    assert.is(JSON.parse((await req(`${plainUrl}/v1/kv/m`)).body).value, 'over-tls');
    assert.is((await req(plainUrl.replace('http', 'https') + '/healthz').catch((e: Error) => ({ status: 0, body: e.message }))).status, 0, 'no TLS on the plain port');
    const viaEtcdctl = await new Promise<string>((resolve) => {
      const p = spawn('etcdctl', [`--endpoints=${plainUrl}`, '--dial-timeout=3s', 'get', 'm', '--print-value-only'], { env: { ...process.env, ETCDCTL_API: '3' } });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('close', () => resolve(out));
    });
    assert.is(viaEtcdctl.trim(), 'over-tls');
  } finally {
    await mixed.stop();
  }
});

test('--client-cert-auth: no certificate refused in the handshake; the CN is the user', async () => {
  const cca = await startTestServer(
    { listenClientUrls: 'https://127.0.0.1:0', certFile: f('server.crt'), keyFile: f('server.key'), trustedCaFile: f('ca.crt'), clientCertAuth: true },
    { memory: true },
  );
  try {
    const as = (name: string) => ({ cert: readFileSync(f(`${name}.crt`)), key: readFileSync(f(`${name}.key`)) });
    const noCert = await req(`${cca.url}/healthz`).then(
      (r) => `status ${r.status}`,
      (e: Error) => e.message,
    );
    assert.match(noCert, /certificate|socket hang up|ECONNRESET|alert/i);
    const post = (path: string, body: object, who: string) => req(`${cca.url}${path}`, { ...as(who), body: JSON.stringify(body) });
    assert.is((await post('/v3/auth/user/add', { name: 'root', password: 'x' }, 'root')).status, 200);
    assert.is((await post('/v3/auth/user/grant', { user: 'root', role: 'root' }, 'root')).status, 200);
    assert.is((await post('/v3/auth/user/add', { name: 'alice', options: { no_password: true } }, 'root')).status, 200);
    assert.is((await post('/v3/auth/enable', {}, 'root')).status, 200);
    // No token: the certificate's CN decides.
    assert.is((await post('/v3/kv/put', { key: b('a'), value: b('1') }, 'root')).status, 200);
    const denied = await post('/v3/kv/put', { key: b('a'), value: b('1') }, 'alice');
    assert.is(denied.status, 403);
    assert.match(denied.body, /permission denied/);
  } finally {
    await cca.stop();
  }
});

test.run();
