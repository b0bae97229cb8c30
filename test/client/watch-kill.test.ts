/**
 * A watch through kill -9 of the server process, restarted on the same port and data dir:
 * every acknowledged write arrives once, in order — none lost, none repeated.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WatchKvClient, type WatchEvent } from '../../src/client/node.ts';
import { freePort, until } from './support/tcp-proxy.ts';
import { spawnServer } from './support/server-process.ts';

test('kill -9 and restart mid-watch: acknowledged writes arrive exactly once', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'watchkv-sdk-kill-'));
  const port = await freePort();
  let server = await spawnServer(port, dataDir);
  const c = new WatchKvClient({ endpoints: [server.url], backoff: { initialMs: 20, maxMs: 300 } });
  try {
    const w = c.watch('/k9/', { prefix: true });
    const got: WatchEvent[] = [];
    const disconnects: string[] = [];
    w.on('events', (b) => got.push(...b.events));
    w.on('disconnected', (d) => disconnects.push(d.reason));
    await w.created();
    const acked: number[] = [];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 30; i++) acked.push((await c.put(`/k9/${i % 7}`, `${round}.${i}`)).revision);
      await server.kill9();
      server = await spawnServer(port, dataDir);
      for (let i = 0; i < 30; i++) acked.push((await c.put(`/k9/${i % 7}`, `${round}.after.${i}`)).revision);
    }
    await until(() => got.length >= acked.length, 'every acknowledged write', 20_000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.map((e) => e.revision), acked);
    assert.ok(disconnects.length >= 2);
  } finally {
    c.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
