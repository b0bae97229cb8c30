/**
 * The browser bundle (/ui/client.js) in Debian's headless Chromium: a page imports the SDK from
 * the server, watches a prefix over the browser's own WebSocket, writes through fetch, sees a
 * key written by another client (this test), and syncs an informer. The page is served from the
 * same origin as the API by a small reverse proxy in the test (HTTP and WebSocket upgrades go
 * through to watchkv), which also collects the page's report. A second page uses the SDK signed
 * in to a server with auth on: the token on fetch calls and as the WebSocket's Bearer subprotocol.
 *
 * Skipped, with the reason printed, only when /usr/bin/chromium is absent.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { startTestServer } from '../support/test-server.ts';
import { WatchKvClient } from '../../src/client/node.ts';

const CHROMIUM = process.env.WATCHKV_CHROMIUM ?? '/usr/bin/chromium';

const PAGE = `<!doctype html><meta charset="utf-8"><title>sdk</title><script type="module">
const report = (o) => fetch('/report', { method: 'POST', body: JSON.stringify(o) });
try {
  const { WatchKvClient, NotFoundError } = await import('/ui/client.js');
  const c = new WatchKvClient({ endpoints: [location.origin] });
  const w = c.watch('/browser/', { prefix: true, prevKv: true });
  await w.created();
  await c.put('/browser/a', 'one');
  await c.put('/browser/b', 'two');
  await c.delete('/browser/a');
  await report({ step: 'watching' });
  const out = [];
  for await (const ev of w) {
    out.push(ev.type + ' ' + ev.kv.key + ' ' + ev.kv.value);
    if (out.length === 4) break;
  }
  const inf = c.informer('/browser/');
  await inf.synced();
  let typed = false;
  try { await c.lease.revoke('42'); } catch (e) { typed = e instanceof NotFoundError && e.grpcCode === 5; }
  await report({ step: 'done', out, informer: inf.list().map((kv) => kv.key + '=' + kv.value), typed });
  c.close();
} catch (e) {
  await report({ step: 'error', error: String((e && e.stack) || e) });
}
</script>`;

/** What a page posts to /report; `next(step)` waits for the report of that step. */
type Next = (step: string) => Promise<Record<string, unknown>>;

/**
 * Serves `page` from a reverse proxy in front of the server `url` (same origin for the page and
 * the API, WebSocket upgrades included), opens it in headless Chromium, and runs `body`.
 */
async function inChromium(url: string, page: string, body: (next: Next) => Promise<void>): Promise<void> {
  const target = Number(new URL(url).port);
  const reports: Array<Record<string, unknown>> = [];
  let wake: () => void = () => {};
  const proxy = http.createServer((req, res) => {
    if (req.url === '/page.html') return res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    if (req.url === '/report') {
      let data = '';
      req.on('data', (d) => (data += d));
      req.on('end', () => {
        reports.push(JSON.parse(data));
        res.end('ok');
        wake();
      });
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  proxy.on('upgrade', (req, socket, head) => {
    const up = net.connect(target, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`), '', ''];
      up.write(lines.join('\r\n'));
      if (head.length) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const port = (proxy.address() as net.AddressInfo).port;
  const profile = mkdtempSync(join(tmpdir(), 'watchkv-chromium-'));
  const browser = spawn(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, `http://127.0.0.1:${port}/page.html`],
    { stdio: 'ignore', detached: true },
  );
  const next: Next = async (step) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = reports.find((x) => x.step === step || x.step === 'error');
      if (r) {
        if (r.step === 'error') throw new Error(`page failed: ${r.error}`);
        return r;
      }
      if (Date.now() > deadline) throw new Error(`no "${step}" report from the page`);
      await new Promise<void>((res) => {
        wake = res;
        setTimeout(res, 200);
      });
    }
  };
  try {
    await body(next);
  } finally {
    try {
      process.kill(-browser.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The SDK signed in as alice (auth option): calls carry the token, the WebSocket its Bearer subprotocol. */
const AUTH_PAGE = `<!doctype html><meta charset="utf-8"><title>sdk auth</title><script type="module">
const report = (o) => fetch('/report', { method: 'POST', body: JSON.stringify(o) });
try {
  const { WatchKvClient, WatchCanceledError, PermissionDeniedError } = await import('/ui/client.js');
  const c = new WatchKvClient({ endpoints: [location.origin], auth: { username: 'alice', password: 'alicepw' } });
  const w = c.watch('/app/', { prefix: true });
  await w.created();
  await c.put('/app/a', 'one');
  let deniedPut = '';
  try { await c.put('/secret', 'x'); } catch (e) { deniedPut = (e instanceof PermissionDeniedError) + ' ' + e.message; }
  let deniedWatch = '';
  try { await c.watch('/secret').created(); } catch (e) { deniedWatch = (e instanceof WatchCanceledError) + ' ' + e.message; }
  const out = [];
  for await (const ev of w) {
    out.push(ev.type + ' ' + ev.kv.key + ' ' + ev.kv.value);
    if (out.length === 1) break;
  }
  await report({ step: 'done', out, deniedPut, deniedWatch });
  c.close();
} catch (e) {
  await report({ step: 'error', error: String((e && e.stack) || e) });
}
</script>`;

if (!existsSync(CHROMIUM)) {
  console.log(`SKIP test/client/browser.test.ts: no Chromium at ${CHROMIUM} (install Debian's "chromium" package)`);
  test.skip('the browser bundle in headless Chromium (needs Chromium)', () => {});
} else {
  test('the browser bundle in headless Chromium watches, writes and syncs an informer', async () => {
    const s = await startTestServer({}, { memory: true });
    try {
      await inChromium(s.url, PAGE, async (next) => {
        await next('watching');
        const other = new WatchKvClient({ endpoints: [s.url] });
        await other.put('/browser/c', 'from-node');
        const done = await next('done');
        assert.equal(done.out, ['put /browser/a one', 'put /browser/b two', 'delete /browser/a ', 'put /browser/c from-node']);
        assert.equal(done.informer, ['/browser/b=two', '/browser/c=from-node']);
        assert.is(done.typed, true);
      });
    } finally {
      await s.stop();
    }
  });

  test('in the browser, the SDK signs in: its calls and its WebSocket watch work within the user\'s permissions', async () => {
    const s = await startTestServer({}, { memory: true });
    const root = new WatchKvClient({ endpoints: [s.url], auth: { username: 'root', password: 'rootpw' } });
    try {
      await root.auth.userAdd('root', 'rootpw');
      await root.auth.userGrantRole('root', 'root');
      await root.auth.roleAdd('app');
      await root.auth.roleGrantPermission('app', 'READWRITE', '/app/', { prefix: true });
      await root.auth.userAdd('alice', 'alicepw');
      await root.auth.userGrantRole('alice', 'app');
      await root.auth.enable();
      await inChromium(s.url, AUTH_PAGE, async (next) => {
        const done = await next('done');
        assert.equal(done.out, ['put /app/a one']);
        assert.is(done.deniedPut, 'true etcdserver: permission denied');
        assert.is(done.deniedWatch, 'true rpc error: code = PermissionDenied desc = etcdserver: permission denied');
      });
    } finally {
      root.close();
      await s.stop();
    }
  });
}

test.run();
