/**
 * The web explorer on a server with auth on, in headless Chromium: the page asks for a user
 * instead of failing; a wrong password is refused with etcd's message; after signing in the tree,
 * the live updates (SSE with the token in the query) and edits work; signing out asks again.
 * Skipped, with the reason printed, only when /usr/bin/chromium is absent (.ci/run installs it).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const CHROMIUM = process.env.WATCHKV_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let s: TestServer;
let browser: Browser;
let rootToken = '';

async function v3(path: string, body: object, token?: string): Promise<any> {
  const r = await fetch(s.url + path, { method: 'POST', body: JSON.stringify(body), headers: token ? { authorization: token } : {} });
  const json = await r.json();
  assert.is(r.status, 200, `${path}: ${JSON.stringify(json)}`);
  return json;
}

async function put(key: string, value: string): Promise<number> {
  const r = await fetch(`${s.url}/v1/kv/${key}`, { method: 'PUT', body: value, headers: { authorization: rootToken } });
  assert.is(r.status, 200);
  return ((await r.json()) as { revision: number }).revision;
}

if (!existsSync(CHROMIUM)) {
  console.log(`SKIP test/ui/explorer-auth.test.ts: no Chromium at ${CHROMIUM} (install Debian's "chromium" package; .ci/run does)`);
  test.skip('the explorer with auth in a real browser (needs Chromium)', () => {});
} else {
  test.before(async () => {
    s = await startTestServer({}, { memory: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
    await v3('/v3/auth/user/add', { name: 'root', password: 'rootpw' });
    await v3('/v3/auth/user/grant', { user: 'root', role: 'root' });
    await v3('/v3/auth/enable', {});
    rootToken = (await v3('/v3/auth/authenticate', { name: 'root', password: 'rootpw' })).token;
    await put('app/one', '1');
  });
  test.after(async () => {
    await browser?.close();
    await s?.stop();
  });

  test('sign in, browse and edit with the token, watch live, sign out', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => {
      throw new Error(`page error: ${err.message}`);
    });
    await page.goto(s.url + '/ui/');
    // No token yet: the login form, not the explorer.
    await page.getByLabel('User name').waitFor({ timeout: 10_000 });
    assert.is(await page.locator('main.layout').isVisible(), false);
    await page.getByLabel('User name').fill('root');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#login-message', { hasText: 'etcdserver: authentication failed, invalid user ID or password' }).waitFor();
    await page.getByLabel('Password').fill('rootpw');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('live: on').waitFor({ timeout: 10_000 });
    await page.locator('#signed-in-user', { hasText: 'root' }).waitFor();
    await page.getByRole('button', { name: /^app\// }).click();
    // Live through SSE, which carried the token in its URL.
    await put('app/two', '2');
    await page.getByRole('button', { name: 'two', exact: true }).click();
    await page.locator('#detail-key', { hasText: 'app/two' }).waitFor();
    await page.getByLabel(/Edit value/).fill('edited in the page');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#message', { hasText: /Saved at revision/ }).waitFor();
    const stored = (await (await fetch(`${s.url}/v1/kv/app/two`, { headers: { authorization: rootToken } })).json()) as { value: string };
    assert.is(stored.value, 'edited in the page');
    // Without the token the same read is refused: the page really sent it.
    assert.is.not((await fetch(`${s.url}/v1/kv/app/two`)).status, 200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('User name').waitFor({ timeout: 10_000 });
    await page.close();
  });
}

test.run();
