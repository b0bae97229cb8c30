/**
 * The web explorer in a real browser: Debian's headless Chromium driven by playwright-core.
 * The page loads from `/` (redirected to /ui/), a key put through the API appears without a
 * reload (SSE), an edit made in the page changes the store (with CAS on the shown revision),
 * and screenshots (desktop and phone width) are saved to a temp dir whose path is printed.
 *
 * Skipped, with the reason printed, only when /usr/bin/chromium is absent (.ci/run installs it).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const CHROMIUM = process.env.WATCHKV_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let s: TestServer;
let browser: Browser;
const shots = mkdtempSync(join(tmpdir(), 'watchkv-ui-'));

async function put(key: string, value: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await fetch(`${s.url}/v1/kv/${key}`, { method: 'PUT', body: value, headers });
  assert.is(r.status, 200);
  return ((await r.json()) as { revision: number }).revision;
}

async function read(key: string): Promise<any> {
  const r = await fetch(`${s.url}/v1/kv/${key}`);
  return r.status === 200 ? r.json() : undefined;
}

async function openPage(width = 1280, height = 800): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height } });
  page.on('pageerror', (err) => {
    throw new Error(`page error: ${err.message}`);
  });
  await page.goto(s.url + '/');
  assert.is(new URL(page.url()).pathname, '/ui/');
  await page.getByText('live: on').waitFor({ timeout: 10_000 });
  return page;
}

if (!existsSync(CHROMIUM)) {
  console.log(`SKIP test/ui/explorer.test.ts: no Chromium at ${CHROMIUM} (install Debian's "chromium" package; .ci/run does)`);
  test.skip('the explorer in a real browser (needs Chromium)', () => {});
} else {
  test.before(async () => {
    s = await startTestServer({}, { memory: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
  });
  test.after(async () => {
    await browser?.close();
    await s?.stop();
  });

  test('a key put through the API appears without reload; an edit in the page changes the store', async () => {
    await put('config/color', 'blue');
    const page = await openPage();
    // The top level shows the folder; the revision in the header is the store's.
    await page.getByRole('button', { name: /^config\// }).waitFor();
    // A new folder and key appear live.
    const rev = await put('demo/hello', '{"greeting":"hi"}');
    const folder = page.getByRole('button', { name: /^demo\// });
    await folder.waitFor({ timeout: 10_000 });
    await page.locator('#revision', { hasText: String(rev) }).waitFor();
    assert.match(await page.locator('#log').innerText(), /put demo\/hello/);
    await folder.click();
    await page.getByRole('button', { name: 'hello', exact: true }).click();
    await page.locator('#detail-key', { hasText: 'demo/hello' }).waitFor();
    // Pretty JSON view.
    await page.getByLabel('JSON').check();
    await page.locator('#detail-view', { hasText: '"greeting": "hi"' }).waitFor();
    // Edit in the page → the store has the new value, written with CAS on the shown revision.
    await page.getByLabel(/Edit value/).fill('{"greeting":"hello from the page"}');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#message', { hasText: /Saved at revision/ }).waitFor();
    const stored = await read('demo/hello');
    assert.is(stored.value, '{"greeting":"hello from the page"}');
    assert.is(stored.version, 2);
    // The history lists the first version.
    await page.locator('#history', { hasText: `revision ${rev}` }).waitFor();
    // Another client changes the key while a draft is open: the page shows the new value and
    // warns; saving the draft is refused (If-Match on the revision the draft was based on).
    await page.getByLabel('text').check();
    await page.getByLabel(/Edit value/).fill('my draft');
    await put('demo/hello', 'changed elsewhere');
    await page.locator('#detail-view', { hasText: 'changed elsewhere' }).waitFor();
    await page.locator('#message', { hasText: /changed on the server/ }).waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#message', { hasText: /Not saved: precondition failed/ }).waitFor();
    assert.is((await read('demo/hello')).value, 'changed elsewhere');
    const shot = join(shots, 'explorer-desktop.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'a real screenshot');
    console.log(`screenshot: ${shot}`);
    await page.close();
  });

  test('create and delete from the page; keyboard and phone width', async () => {
    const page = await openPage(390, 844);
    await page.locator('summary', { hasText: 'New key' }).click();
    await page.getByLabel('New key name').fill('phone/note');
    await page.getByLabel('New key value').fill('written on a phone');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('#message', { hasText: /Created/ }).waitFor();
    assert.is((await read('phone/note')).value, 'written on a phone');
    // Creating it again is refused (If-None-Match: *).
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('#message', { hasText: /already exists/ }).waitFor();
    // Keyboard: focus the folder and press Enter.
    const folder = page.getByRole('button', { name: /^phone\// });
    await folder.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'note', exact: true }).click();
    await page.locator('#detail-key', { hasText: 'phone/note' }).waitFor();
    // No horizontal scrolling at phone width.
    // A string, so this Node-side file needs no DOM types.
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone screen`);
    const shot = join(shots, 'explorer-phone.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);
    await page.getByRole('button', { name: 'Delete key' }).click();
    await page.getByRole('button', { name: 'Confirm delete' }).click();
    await page.locator('#message', { hasText: /Deleted at revision/ }).waitFor();
    assert.is(await read('phone/note'), undefined);
    // The live log can be paused: events wait, then show on resume.
    await page.getByRole('button', { name: 'Pause' }).click();
    await put('phone/later', 'x');
    await page.getByRole('button', { name: 'phone/' }).first().waitFor();
    assert.not.match(await page.locator('#log').innerText(), /phone\/later/);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('#log', { hasText: 'put phone/later' }).waitFor();
    await page.close();
  });

  test('Swagger UI at /docs renders the spec', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${s.url}/docs`);
    await page.getByText('/v1/watch/{key}').first().waitFor({ timeout: 20_000 });
    await page.getByText('/v1/kv/{key}').first().waitFor();
    const shot = join(shots, 'docs.png');
    await page.screenshot({ path: shot });
    console.log(`screenshot: ${shot}`);
    await page.close();
  });
}

test.run();
