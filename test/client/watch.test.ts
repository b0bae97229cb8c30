/**
 * SDK watches against a real server: events through the async iterator and callbacks, many
 * watches on one socket, and resume — across a cut network (a TCP proxy), an in-process server
 * restart on the same port and LevelDB dir, and progress notifications moving the resume point
 * past a compaction. Every case checks that each revision arrives exactly once, in order.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { WatchKvClient, CompactedError, type WatchEvent } from '../../src/client/node.ts';
import { freePort, startTcpProxy, until } from './support/tcp-proxy.ts';

const FAST = { backoff: { initialMs: 20, maxMs: 200 } };

function collect(w: { on(e: 'events', fn: (b: { events: WatchEvent[] }) => void): unknown }): WatchEvent[] {
  const got: WatchEvent[] = [];
  w.on('events', (b) => got.push(...b.events));
  return got;
}

function assertExactlyOnce(got: WatchEvent[], expectRevs: number[]): void {
  assert.equal(
    got.map((e) => e.revision),
    expectRevs,
  );
}

test('iterator and callbacks, prevKv, filters, many watches on one socket', async () => {
  const s = await startTestServer({}, { memory: true });
  const c = new WatchKvClient({ endpoints: [s.url] });
  try {
    const all = c.watch('/w/', { prefix: true, prevKv: true });
    const onlyDel = c.watch('/w/', { prefix: true, filters: ['noput'] });
    const one = c.watch('/w/a');
    await Promise.all([all.created(), onlyDel.created(), one.created()]);
    const dels = collect(onlyDel);
    const ones = collect(one);
    await c.put('/w/a', '1');
    await c.put('/w/b', '2');
    await c.put('/w/a', '3');
    await c.delete('/w/b');
    const seen: WatchEvent[] = [];
    for await (const ev of all) {
      seen.push(ev);
      if (seen.length === 4) break; // break closes the watch
    }
    assert.equal(seen.map((e) => `${e.type} ${e.kv.key} ${e.kv.value}`), ['put /w/a 1', 'put /w/b 2', 'put /w/a 3', 'delete /w/b ']);
    assert.is(seen[2]!.prevKv?.value, '1');
    assert.ok(all.closed);
    await until(() => dels.length === 1 && ones.length === 2, 'filtered watches');
    assert.is(dels[0]!.type, 'delete');
    assert.equal(ones.map((e) => e.kv.value), ['1', '3']);
    assert.is(c.watchConnection().connects, 1);
    // startRevision replays history.
    const replay = c.watch('/w/', { prefix: true, startRevision: seen[0]!.revision });
    const it = replay[Symbol.asyncIterator]();
    assert.is((await it.next()).value.kv.value, '1');
    replay.close();
    assert.ok((await it.next()).done);
  } finally {
    c.close();
    await s.stop();
  }
});

test('a cut network: the watch resumes at last revision + 1, nothing lost or repeated', async () => {
  const s = await startTestServer({}, { memory: true });
  const proxy = await startTcpProxy(Number(new URL(s.url).port));
  const c = new WatchKvClient({ endpoints: [proxy.url], ...FAST });
  const direct = new WatchKvClient({ endpoints: [s.url] });
  try {
    const w = c.watch('/cut/', { prefix: true });
    const got = collect(w);
    await w.created();
    const revs: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) revs.push((await direct.put(`/cut/${i % 5}`, `r${round}-${i}`)).revision);
      await until(() => got.length === revs.length, 'events before the cut');
      proxy.cut();
      await until(() => !c.watchConnection().connected, 'the drop');
      for (let i = 0; i < 20; i++) revs.push((await direct.put(`/cut/${i % 5}`, `r${round}-gap-${i}`)).revision);
      proxy.restore();
    }
    await until(() => got.length >= revs.length, 'events after the last restore');
    await new Promise((r) => setTimeout(r, 100)); // room for a duplicate to show up
    assertExactlyOnce(got, revs);
    assert.ok(c.watchConnection().connects >= 4);
  } finally {
    c.close();
    await proxy.close();
    await s.stop();
  }
});

test('an in-process server restart on the same port and LevelDB dir: nothing lost or repeated', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'watchkv-sdk-'));
  const port = await freePort();
  const cfg = { listenClientUrls: `http://127.0.0.1:${port}` };
  let s: TestServer = await startTestServer(cfg, { dataDir });
  const c = new WatchKvClient({ endpoints: [s.url], ...FAST });
  try {
    const w = c.watch('/rs/', { prefix: true, prevKv: true });
    const got = collect(w);
    await w.created();
    const revs: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 15; i++) revs.push((await c.put(`/rs/${i % 4}`, `${round}-${i}`)).revision);
      await s.stop({ keepDir: true });
      s = await startTestServer(cfg, { dataDir });
      // Written before the watch is back: it must come from history.
      for (let i = 0; i < 15; i++) revs.push((await c.put(`/rs/${i % 4}`, `${round}-after-${i}`)).revision);
    }
    await until(() => got.length >= revs.length, 'every event');
    await new Promise((r) => setTimeout(r, 100));
    assertExactlyOnce(got, revs);
  } finally {
    c.close();
    await s.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a compacted resume point ends the watch with CompactedError', async () => {
  const s = await startTestServer({}, { memory: true });
  const proxy = await startTcpProxy(Number(new URL(s.url).port));
  const c = new WatchKvClient({ endpoints: [proxy.url], ...FAST, heartbeatMs: 0 });
  const direct = new WatchKvClient({ endpoints: [s.url] });
  try {
    const w = c.watch('/cp/', { prefix: true, progressNotify: false });
    await w.created();
    await direct.put('/cp/a', '1');
    proxy.cut();
    await direct.put('/cp/a', '2');
    const last = await direct.put('/other', 'x');
    await direct.compact(last.revision);
    proxy.restore();
    let caught: unknown;
    try {
      for await (const _ of w) {
        /* the first event (before the cut) may come */
      }
    } catch (e) {
      caught = e;
    }
    assert.instance(caught, CompactedError);
    assert.is((caught as CompactedError).compactRevision, last.revision);
  } finally {
    c.close();
    await proxy.close();
    await s.stop();
  }
});

test('progress moves the resume point of an idle watch past a compaction', async () => {
  const s = await startTestServer({}, { memory: true });
  const proxy = await startTcpProxy(Number(new URL(s.url).port));
  const c = new WatchKvClient({ endpoints: [proxy.url], ...FAST, heartbeatMs: 0 });
  const direct = new WatchKvClient({ endpoints: [s.url] });
  try {
    const w = c.watch('/idle/', { prefix: true });
    const got = collect(w);
    const created = await w.created();
    let last = 0;
    for (let i = 0; i < 10; i++) last = (await direct.put(`/busy/${i}`, 'x')).revision;
    const progressed = new Promise<number>((r) => w.on('progress', r));
    w.requestProgress();
    assert.is(await progressed, last);
    assert.is(w.nextRevision, last + 1);
    assert.ok(w.nextRevision! > created + 1);
    await direct.compact(last);
    proxy.cut();
    await until(() => !c.watchConnection().connected, 'the drop');
    const p = await direct.put('/idle/k', 'v');
    proxy.restore();
    await until(() => got.length === 1, 'the event after the resume');
    assert.is(got[0]!.revision, p.revision);
    assert.not.ok(w.closed);
  } finally {
    c.close();
    await proxy.close();
    await s.stop();
  }
});

test.run();
