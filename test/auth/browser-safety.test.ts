/**
 * Browser safety over real sockets: a request or WebSocket upgrade with a foreign Origin is
 * refused with 403 (nothing written); `--cors` origins and the server's own origin work; clients
 * without Origin are unaffected. Then in a real browser (Debian's Chromium, playwright-core): a
 * page served from another origin tries fetch, a no-preflight form POST and a WebSocket, and
 * none of them reaches the store; the /ui explorer on the server's own origin still works.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { chromium } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const CHROMIUM = process.env.WATCHKV_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ALLOWED = 'http://app.example.test';
let s: TestServer;

function request(method: string, path: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(s.url + path, { method, headers }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: data, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function value(key: string): Promise<string | undefined> {
  const r = await fetch(`${s.url}/v1/kv/${key}`);
  return r.status === 200 ? ((await r.json()) as { value: string }).value : undefined;
}

function wsOutcome(origin?: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(s.url.replace('http', 'ws') + '/v3/watch', origin ? { origin } : {});
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(`status ${res.statusCode}`);
      res.resume();
    });
    ws.on('error', (e) => resolve(`error ${e.message}`));
  });
}

test.before(async () => {
  s = await startTestServer({ cors: [ALLOWED] }, { memory: true });
});
test.after(async () => {
  await s?.stop();
});

test('a cross-site form POST (no preflight) with a foreign Origin writes nothing: 403', async () => {
  const put = JSON.stringify({ key: Buffer.from('evil').toString('base64'), value: Buffer.from('x').toString('base64') });
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const r = await request('POST', '/v3/kv/put', put, { origin: 'http://evil.example', 'content-type': type });
    assert.is(r.status, 403, type);
    assert.match(JSON.parse(r.body).message, /origin not allowed: http:\/\/evil\.example/);
  }
  const rest = await request('PUT', '/v1/kv/evil', 'x', { origin: 'null', 'content-type': 'text/plain' });
  assert.is(rest.status, 403);
  assert.is(await value('evil'), undefined);
});

test('no Origin (curl, SDKs), the own origin and a --cors origin work; CORS headers for allowed', async () => {
  const put = JSON.stringify({ key: Buffer.from('k').toString('base64'), value: Buffer.from('v').toString('base64') });
  assert.is((await request('POST', '/v3/kv/put', put, { 'content-type': 'application/x-www-form-urlencoded' })).status, 200);
  const own = new URL(s.url).origin;
  assert.is((await request('POST', '/v3/kv/put', put, { origin: own })).status, 200);
  const allowed = await request('POST', '/v3/kv/put', put, { origin: ALLOWED });
  assert.is(allowed.status, 200);
  assert.is(allowed.headers['access-control-allow-origin'], ALLOWED);
  const pre = await request('OPTIONS', '/v3/kv/put', '', { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' });
  assert.is(pre.status, 200); // etcd's status for any OPTIONS
  assert.is(pre.headers['access-control-allow-origin'], ALLOWED);
  assert.match(String(pre.headers['access-control-allow-headers']), /Authorization/i);
  const badPre = await request('OPTIONS', '/v3/kv/put', '', { origin: 'http://evil.example', 'access-control-request-method': 'POST' });
  assert.is(badPre.status, 403);
});

test('a WebSocket upgrade with a foreign Origin is refused with 403; own and allowed origins open', async () => {
  assert.is(await wsOutcome('http://evil.example'), 'status 403');
  assert.is(await wsOutcome(), 'open');
  assert.is(await wsOutcome(ALLOWED), 'open');
  assert.is(await wsOutcome(new URL(s.url).origin), 'open');
  // The SSE watch (EventSource sends Origin cross-site) is a GET: refused as well.
  assert.is((await request('GET', '/v1/watch?key=a', '', { origin: 'http://evil.example' })).status, 403);
});

if (!existsSync(CHROMIUM)) {
  console.log(`SKIP browser part: no Chromium at ${CHROMIUM}`);
} else {
  test('in Chromium: a page from another origin cannot write or watch; /ui still works', async () => {
    // The attacker's page, on another port of 127.0.0.1 (another origin).
    const target = s.url;
    const page = `<!doctype html><body><form id="f" method="POST" action="${target}/v3/kv/put" enctype="text/plain">
      <input name='{"key":"Zm9ybQ==","value":"eA==","x":"' value='"}'></form><script>
      window.results = {};
      fetch('${target}/v1/kv/viafetch', { method: 'PUT', mode: 'no-cors', body: 'x' }).then(() => results.fetch = 'sent', (e) => results.fetch = 'failed');
      const ws = new WebSocket('${target.replace('http', 'ws')}/v3/watch');
      ws.onopen = () => results.ws = 'open'; ws.onerror = () => results.ws = 'error';
      </script></body>`;
    const evil = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page));
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
    try {
      const p = await browser.newPage();
      await p.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      await p.waitForFunction('window.results.ws !== undefined && window.results.fetch !== undefined', undefined, { timeout: 10_000 });
      assert.is(await p.evaluate('window.results.ws'), 'error');
      const nav = p.waitForEvent('framenavigated');
      await p.evaluate('document.getElementById("f").submit()');
      await nav;
      assert.match(await p.content(), /origin not allowed/);
      assert.is(await value('viafetch'), undefined);
      assert.is(await value('form'), undefined);
      // The explorer, served from the server's own origin, works (its SSE watch is live).
      const ui = await browser.newPage();
      await ui.goto(s.url + '/ui/');
      await ui.getByText('live: on').waitFor({ timeout: 10_000 });
    } finally {
      await browser.close();
      evil.close();
    }
  });
}

test.run();
