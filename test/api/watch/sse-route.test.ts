/**
 * The SSE watch (/v1/watch/{key}) over real HTTP, read with a raw SSE parser: one message per
 * revision with id = revision, Last-Event-ID resume with nothing lost or repeated (across a
 * restart on the same data dir too), progress on idle streams, `compacted` then the end, and a
 * slow reader going through the engine's victim/catch-up path while still getting every event
 * exactly once.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer } from '../../support/test-server.ts';
import { SseClient, type SseMessage } from '../../support/sse-client.ts';

async function put(url: string, key: string, value: string | Buffer): Promise<number> {
  const r = await fetch(`${url}/v1/kv/${key}`, { method: 'PUT', body: value });
  return ((await r.json()) as any).revision;
}
const b64 = (s: string) => Buffer.from(s).toString('base64');
const changes = (c: SseClient): SseMessage[] => c.of('change');
const revs = (c: SseClient): number[] => changes(c).map((m) => Number(m.id));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('one message per revision, id = revision, in the plain-REST event shape', async () => {
  const s = await startTestServer({}, { memory: true });
  try {
    const c = await SseClient.open(`${s.url}/v1/watch/app/?prefix&prev_kv`);
    assert.is(c.status, 200);
    assert.is(c.headers['content-type'], 'text/event-stream; charset=utf-8');
    // A watch from now first says where it starts.
    await c.until(() => c.messages.length >= 1, 'the starting progress');
    assert.equal(c.messages[0], { id: '1', event: 'progress', data: '{"revision":1}' });
    const r1 = await put(s.url, 'app/a', 'one');
    const r2 = await put(s.url, 'app/a', 'two');
    // One txn with three puts = one revision = one message with three events.
    const t = await fetch(`${s.url}/v3/kv/txn`, {
      method: 'POST',
      body: JSON.stringify({ success: ['b', 'c', 'd'].map((k) => ({ request_put: { key: b64(`app/${k}`), value: b64(k) } })) }),
    });
    const r3 = Number(((await t.json()) as any).header.revision);
    await put(s.url, 'other', 'ignored');
    const r5 = await put(s.url, 'app/bin', Buffer.from([0xff, 0x00]));
    const del = (await (await fetch(`${s.url}/v1/kv/app/?prefix`, { method: 'DELETE' })).json()) as any;
    await c.until(() => revs(c).includes(del.revision), 'the delete');
    assert.equal(revs(c), [r1, r2, r3, r5, del.revision]);
    const data = changes(c).map((m) => JSON.parse(m.data));
    for (const [i, d] of data.entries()) assert.is(d.revision, revs(c)[i]);
    assert.equal(data[0].events, [{ type: 'put', key: 'app/a', value: 'one', create_revision: r1, mod_revision: r1, version: 1, lease: '0' }]);
    assert.equal(data[1].events[0].prev, { key: 'app/a', value: 'one', create_revision: r1, mod_revision: r1, version: 1, lease: '0' });
    assert.equal(data[2].events.map((e: any) => e.key), ['app/b', 'app/c', 'app/d']);
    assert.equal(data[3].events[0].value_base64, Buffer.from([0xff, 0x00]).toString('base64'));
    assert.equal(data[4].events.map((e: any) => [e.type, e.key, e.mod_revision]), ['a', 'b', 'bin', 'c', 'd'].map((k) => ['delete', `app/${k}`, del.revision]));
    assert.is(data[4].events[0].prev.value, 'two');
    c.close();
    // A single key, without prev_kv.
    const one = await SseClient.open(`${s.url}/v1/watch/solo`);
    await one.until(() => one.messages.length >= 1, 'start');
    await put(s.url, 'solo2', 'no');
    const rs = await put(s.url, 'solo', 'yes');
    await one.until(() => changes(one).length === 1, 'the solo change');
    assert.equal(JSON.parse(changes(one)[0]!.data).events, [{ type: 'put', key: 'solo', value: 'yes', create_revision: rs, mod_revision: rs, version: 1, lease: '0' }]);
    one.close();
  } finally {
    await s.stop();
  }
});

test('Last-Event-ID resumes with nothing lost or repeated, across a server restart too', async () => {
  let s = await startTestServer();
  try {
    const first = await put(s.url, 'r/0', 'v');
    const c1 = await SseClient.open(`${s.url}/v1/watch/r/?prefix&start_revision=${first}`);
    for (let i = 1; i <= 5; i++) await put(s.url, `r/${i}`, `v${i}`);
    await c1.until(() => changes(c1).length >= 3, 'some events');
    c1.close();
    const seen = revs(c1);
    const lastId = seen.at(-1)!;
    // While disconnected the store moves on.
    for (let i = 6; i <= 8; i++) await put(s.url, `r/${i}`, `v${i}`);
    const c2 = await SseClient.open(`${s.url}/v1/watch/r/?prefix&start_revision=${first}`, { 'last-event-id': String(lastId) });
    const end1 = await put(s.url, 'r/9', 'v9');
    await c2.until(() => revs(c2).includes(end1), 'the resumed stream reaching the present');
    c2.close();
    const got = [...seen, ...revs(c2)];
    assert.equal(got, range(first, end1), 'every revision exactly once');
    assert.is(c2.of('progress').length, 0, 'a resumed watch does not restart from now');

    // Restart on the same data dir, then resume from the last id seen.
    const dataDir = s.dataDir;
    const c3 = await SseClient.open(`${s.url}/v1/watch/r/?prefix`, { 'last-event-id': String(end1 - 2) });
    await c3.until(() => revs(c3).includes(end1), 'replay');
    const beforeStop = revs(c3);
    await s.stop({ keepDir: true });
    await c3.waitEnd();
    s = await startTestServer({}, { dataDir });
    const last = beforeStop.at(-1)!;
    const afterRestart = await put(s.url, 'r/10', 'v10');
    const c4 = await SseClient.open(`${s.url}/v1/watch/r/?prefix`, { 'last-event-id': String(last) });
    await c4.until(() => revs(c4).includes(afterRestart), 'the event written after the restart');
    assert.equal([...beforeStop, ...revs(c4)], range(end1 - 1, afterRestart));
    // ?last_event_id does the same for clients that cannot set headers.
    const c5 = await SseClient.open(`${s.url}/v1/watch/r/?prefix&last_event_id=${afterRestart - 1}`);
    await c5.until(() => revs(c5).length === 1, 'one event');
    assert.equal(revs(c5), [afterRestart]);
    c4.close();
    c5.close();
  } finally {
    await s.stop();
  }
});

test('idle streams get progress with the current revision, and comment heartbeats', async () => {
  const s = await startTestServer({ sseProgressIntervalMs: 150, sseHeartbeatIntervalMs: 100 }, { memory: true });
  try {
    const rev = await put(s.url, 'busy', 'x');
    const c = await SseClient.open(`${s.url}/v1/watch/quiet`);
    await c.until(() => c.of('progress').length >= 1, 'the starting progress');
    const now = await put(s.url, 'busy', 'y');
    assert.ok(now > rev);
    // Nothing for `quiet` happens; the stream still learns the store moved to `now`.
    await c.until(() => c.of('progress').some((m) => m.id === String(now)), 'a progress at the current revision');
    const p = c.of('progress').find((m) => m.id === String(now))!;
    assert.equal(JSON.parse(p.data), { revision: now });
    await c.until(() => c.comments >= 2, 'a heartbeat comment besides the opening one');
    assert.is(changes(c).length, 0);
    c.close();
  } finally {
    await s.stop();
  }
});

test('a compacted resume point: event compacted, then the stream ends', async () => {
  const s = await startTestServer({}, { memory: true });
  try {
    let r = 0;
    for (let i = 0; i < 5; i++) r = await put(s.url, 'c', `v${i}`);
    await fetch(`${s.url}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: r - 1 }) });
    const c = await SseClient.open(`${s.url}/v1/watch/c`, { 'last-event-id': String(r - 4) });
    await c.waitEnd();
    assert.equal(c.messages, [{ event: 'compacted', data: `{"compact_revision":${r - 1}}` }]);
    // From the compaction revision on, history is complete: resuming there works.
    const ok = await SseClient.open(`${s.url}/v1/watch/c`, { 'last-event-id': String(r - 2) });
    await ok.until(() => revs(ok).length === 2, 'the last two revisions');
    assert.equal(revs(ok), [r - 1, r]);
    ok.close();
  } finally {
    await s.stop();
  }
});

test('a slow reader goes through victim/catch-up and still gets every event exactly once', async () => {
  // A small recent-history window, so catch-up also reads from the store.
  const s = await startTestServer({ wsHighWaterBytes: 16 * 1024, watchHistoryBytes: 1024 * 1024 }, { memory: true });
  try {
    const slow = await SseClient.open(`${s.url}/v1/watch/s/?prefix`);
    const fast = await SseClient.open(`${s.url}/v1/watch/s/?prefix`);
    await slow.until(() => slow.messages.length === 1, 'slow start');
    await fast.until(() => fast.messages.length === 1, 'fast start');
    slow.pause();
    // Loopback sockets buffer many MB before the server's response buffer fills: write until
    // the engine has parked the slow watcher (bounded), then some more while it is parked.
    const value = (i: number) => `${i}:`.padEnd(64 * 1024, 'x');
    const MAX = 1500;
    let first = 0;
    let last = 0;
    let parkedAt = -1;
    for (let i = 0; i < MAX && (parkedAt < 0 || i < parkedAt + 50); i++) {
      last = await put(s.url, `s/${i % 20}`, value(i));
      if (i === 0) first = last;
      const st = s.server.engine.stats();
      if (parkedAt < 0 && st.victims + st.unsynced > 0) parkedAt = i;
    }
    assert.ok(parkedAt >= 0, 'the slow watcher was parked as a victim');
    await fast.until(() => revs(fast).includes(last), 'the fast reader has everything while the slow one is paused');
    assert.ok(revs(slow).length < last - first + 1, 'the slow reader is really behind');
    slow.resume();
    await slow.until(() => revs(slow).includes(last), 'the slow reader caught up', 30_000);
    for (const c of [slow, fast]) {
      assert.equal(revs(c), range(first, last));
      const data = changes(c).map((m) => JSON.parse(m.data));
      assert.ok(data.every((d, i) => d.events.length === 1 && d.events[0].value === value(i)));
    }
    const st = s.server.engine.stats();
    assert.is(st.victims + st.unsynced, 0);
    slow.close();
    fast.close();
  } finally {
    await s.stop();
  }
});

test('a client that stays unreadable is disconnected; its watcher is released', async () => {
  const s = await startTestServer({ wsHighWaterBytes: 16 * 1024, wsMaxUnreadableMs: 300 }, { memory: true });
  try {
    const c = await SseClient.open(`${s.url}/v1/watch/u/?prefix`);
    await c.until(() => c.messages.length === 1, 'start');
    c.pause();
    const value = 'y'.repeat(64 * 1024);
    let parked = false;
    for (let i = 0; i < 1500 && !parked; i++) {
      await put(s.url, `u/${i % 10}`, value);
      const st = s.server.engine.stats();
      parked = st.victims + st.unsynced > 0;
    }
    assert.ok(parked, 'the watcher was parked');
    // Still not reading: after maxUnreadableMs the server cuts the connection.
    for (let i = 0; i < 250 && s.server.engine.stats().victims + s.server.engine.stats().unsynced + s.server.engine.stats().synced > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(s.server.engine.stats().synced + s.server.engine.stats().victims + s.server.engine.stats().unsynced, 0, 'watcher released');
    c.resume();
    await c.waitEnd();
  } finally {
    await s.stop();
  }
});

test('bad requests are 4xx JSON errors before the stream starts; the stream limit is 429', async () => {
  const s = await startTestServer({ maxWatchStreams: 1 }, { memory: true });
  try {
    const check = async (path: string, headers: Record<string, string>, status: number, code: number, pattern: RegExp) => {
      const c = await SseClient.open(s.url + path, headers);
      assert.is(c.status, status, c.errorBody);
      const body = JSON.parse(c.errorBody);
      assert.is(body.code, code);
      assert.match(body.message, pattern);
    };
    await check('/v1/watch/', {}, 400, 3, /key is not provided/);
    await check('/v1/watch/k', { 'last-event-id': 'abc' }, 400, 3, /Last-Event-ID/);
    await check('/v1/watch/k?start_revision=-4', {}, 400, 3, /start_revision/);
    await check('/v1/watch/k%G1', {}, 400, 3, /percent-encoding/);
    assert.is((await fetch(`${s.url}/v1/watch/k`, { method: 'HEAD' })).status, 404);
    const open = await SseClient.open(`${s.url}/v1/watch/k`);
    assert.is(open.status, 200);
    await check('/v1/watch/k', {}, 429, 8, /too many watch streams/);
    open.close();
  } finally {
    await s.stop();
  }
});

test('server shutdown ends SSE streams', async () => {
  const s = await startTestServer({}, { memory: true });
  const c = await SseClient.open(`${s.url}/v1/watch/k`);
  await c.until(() => c.messages.length === 1, 'start');
  await s.stop();
  await c.waitEnd();
  assert.ok(c.ended);
});

test.run();
