/**
 * The CLI on a terminal (a pty made by util-linux `script`): export and import draw a progress
 * bar on stderr; Ctrl-C typed at a running watch stops it cleanly with exit code 0. (Without a
 * terminal there is no bar: cli-ops.test.ts checks stderr holds only the summary line.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { WatchKvClient } from '../../src/client/node.ts';
import { inPty } from './support.ts';

let s: TestServer;
let c: WatchKvClient;
const tmp = mkdtempSync(join(tmpdir(), 'watchkv-tty-'));

test.before(async () => {
  s = await startTestServer({}, { memory: true });
  c = new WatchKvClient({ endpoints: [s.url] });
  await c.txn().then(...Array.from({ length: 100 }, (_, i) => ({ request_put: { key: Buffer.from(`/tty/${i}`).toString('base64'), value: 'dg==' } }))).commit();
});
test.after(async () => {
  c.close();
  await s.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('export and import draw a progress bar on a terminal', async () => {
  const file = join(tmp, 'tty.ndjson');
  const ex = inPty(['--endpoints', s.url, 'export', '/tty/', '-o', file, '--page-size', '10']);
  assert.is(await ex.exited, 0, ex.output());
  assert.match(ex.output(), /export \[[█░]+\] 100% \| 100\/100 keys/);
  assert.match(ex.output(), /exported 100 keys at revision \d+/);
  await c.delete('/tty/', { prefix: true });
  const im = inPty(['--endpoints', s.url, 'import', file]);
  assert.is(await im.exited, 0, im.output());
  assert.match(im.output(), /import \[[█░]+\] 100% \| 100\/100 keys/);
  assert.is((await c.range('/tty/', { prefix: true, countOnly: true })).count, 100);
});

test('Ctrl-C stops a watch cleanly (exit 0)', async () => {
  const w = inPty(['--endpoints', s.url, 'watch', '/tty-w/', '--prefix']);
  for (let i = 0; !w.output().includes('/tty-w/k'); i++) {
    if (i === 100) throw new Error(`the watch did not start: ${w.output()}`);
    await c.put('/tty-w/k', 'v');
    await new Promise((r) => setTimeout(r, 200));
  }
  w.type('\x03'); // the terminal turns it into SIGINT for the foreground process
  assert.is(await w.exited, 0, w.output());
  assert.not.match(w.output(), /Error|watchkv:/);
});

test.run();
