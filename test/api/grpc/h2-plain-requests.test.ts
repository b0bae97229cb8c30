/**
 * Over TLS, ALPN offers `h2` (gRPC needs it), so browsers, curl and other HTTP/2 clients speak
 * HTTP/2 to every route. Requests that are not gRPC (content-type not application/grpc*) must
 * reach the HTTP app, as etcd routes them, not grpc-js (which answered 415 to all of them).
 * Driven by node:http2 as a client, curl, headless Chromium loading the explorer (with an SSE
 * stream and a WebSocket watch from the page), and etcdctl on the same port for gRPC.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http2 from 'node:http2';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startTestServer, type TestServer } from '../../support/test-server.ts';
import { TestPki } from '../../support/test-pki.ts';

const CHROMIUM = process.env.WATCHKV_CHROMIUM ?? '/usr/bin/chromium';
const pki = new TestPki('watchkv-h2-plain-');
const f = (n: string): string => pki.path(n);
const run = promisify(execFile);
const b = (x: string): string => Buffer.from(x).toString('base64');

let s: TestServer;

test.before(async () => {
  pki.ca();
  pki.leaf('server', { usage: 'server' });
  s = await startTestServer({ listenClientUrls: 'https://127.0.0.1:0', certFile: f('server.crt'), keyFile: f('server.key') }, { memory: true });
});
test.after(async () => {
  await s?.stop();
  pki.remove();
});

/** One request on an HTTP/2 session; the status, headers and body. */
function h2(session: http2.ClientHttp2Session, path: string, body?: string, method = body === undefined ? 'GET' : 'POST'): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': method, ':path': path, ...(body === undefined ? {} : { 'content-type': 'application/json' }) });
    let headers: http2.IncomingHttpHeaders = {};
    let text = '';
    req.on('response', (h) => (headers = h));
    req.setEncoding('utf8');
    req.on('data', (d) => (text += d));
    req.on('end', () => resolve({ status: Number(headers[':status']), headers, body: text }));
    req.on('error', reject);
    req.end(body);
  });
}

test('node:http2: gateway, REST, errors and an SSE watch on one HTTP/2 connection; gRPC beside it', async () => {
  const session = http2.connect(s.url, { ca: readFileSync(f('ca.crt')) });
  try {
    const put = await h2(session, '/v3/kv/put', JSON.stringify({ key: b('k'), value: b('v1') }));
    assert.is(put.status, 200, put.body);
    assert.is(JSON.parse(put.body).header.revision, '2');
    const rest = await h2(session, '/v1/kv/k');
    assert.is(rest.status, 200);
    assert.is(JSON.parse(rest.body).value, 'v1');
    const bad = await h2(session, '/v3/kv/range', '{"key":');
    assert.is(bad.status, 400);
    assert.is(JSON.parse(bad.body).message, 'unexpected EOF'); // etcd's words for a cut body
    const missing = await h2(session, '/v1/kv/nope');
    assert.is(missing.status, 404);

    const sse = session.request({ ':path': '/v1/watch/k?start_revision=1' });
    let events = '';
    sse.setEncoding('utf8');
    sse.on('data', (d) => (events += d));
    for (let i = 0; !events.includes('"value":"v1"'); i++) {
      if (i === 100) throw new Error(`SSE gave ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    sse.close();
  } finally {
    session.close();
  }
  const etcdctl = await run('etcdctl', [`--endpoints=${s.url}`, `--cacert=${f('ca.crt')}`, '--dial-timeout=3s', 'get', 'k', '--print-value-only'], { env: { ...process.env, ETCDCTL_API: '3' } });
  assert.is(etcdctl.stdout.trim(), 'v1');
});

test('curl, which picks HTTP/2 by ALPN: put and get through the gateway', async () => {
  const curl = (...args: string[]) => run('curl', ['-sS', '--http2', '--cacert', f('ca.crt'), '-w', '\\n%{http_version} %{http_code}', ...args]);
  const put = await curl('-H', 'content-type: application/json', '-d', JSON.stringify({ key: b('c'), value: b('from curl') }), `${s.url}/v3/kv/put`);
  assert.match(put.stdout, /\n2 200$/);
  const get = await curl(`${s.url}/v1/kv/c`);
  assert.match(get.stdout, /"value":"from curl"/);
  assert.match(get.stdout, /\n2 200$/);
});

if (!existsSync(CHROMIUM)) {
  console.log(`SKIP the Chromium part of test/api/grpc/h2-plain-requests.test.ts: no Chromium at ${CHROMIUM}`);
} else {
  test('Chromium over https: the explorer loads over h2, goes live (SSE), and a page WebSocket watches', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--ignore-certificate-errors'],
      timeout: 60_000,
    });
    try {
      const page = await browser.newPage({ ignoreHTTPSErrors: true });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(s.url + '/');
      await page.getByText('live: on').waitFor({ timeout: 10_000 });
      // Runs in the page (no DOM types in this project's tsconfig).
      const protocol = await page.evaluate(() => (performance as any).getEntriesByType('navigation')[0].nextHopProtocol as string);
      assert.is(protocol, 'h2');
      await run('curl', ['-sS', '--cacert', f('ca.crt'), '-X', 'PUT', '--data-binary', 'shown', `${s.url}/v1/kv/browser/key`]);
      await page.getByText('browser/key').first().waitFor({ timeout: 10_000 });
      const created = await page.evaluate(
        (url) =>
          new Promise<string>((resolve, reject) => {
            const ws = new WebSocket(url.replace('https', 'wss') + '/v3/watch');
            ws.onopen = () => ws.send(JSON.stringify({ create_request: { key: btoa('k') } }));
            ws.onmessage = (m) => {
              resolve(String(m.data));
              ws.close();
            };
            ws.onerror = () => reject(new Error('websocket error'));
          }),
        s.url,
      );
      assert.is(JSON.parse(created).result.created, true);
      assert.equal(errors, []);
    } finally {
      await browser.close();
    }
  });
}

test.run();
