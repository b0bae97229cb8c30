/**
 * Backpressure end to end: a paused WebSocket client does not slow other sockets and gets every
 * event in order after it resumes; a client that stays unreadable is disconnected with 1008.
 * Also graceful shutdown (close 1001) and restart-and-resume on the same data dir.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { startTestServer } from '../support/test-server.ts';
import { decodeFrame } from '../support/watch-frames.ts';
import { validateWatcher } from '../support/watch-validator.ts';
import type { WatchCreateRequest } from '../../src/watch/watch-api.ts';

interface Sock {
  ws: WebSocket;
  frames: string[];
  closed?: { code: number; reason: string };
}

async function openWs(url: string): Promise<Sock> {
  const ws = new WebSocket(url.replace('http', 'ws') + '/v3/watch');
  const s: Sock = { ws, frames: [] };
  ws.on('message', (d) => s.frames.push(d.toString()));
  ws.on('close', (code, reason) => (s.closed = { code, reason: reason.toString() }));
  await new Promise((r) => ws.once('open', r));
  return s;
}

async function until(cond: () => boolean, what: string, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
async function put(url: string, key: string, value: string): Promise<number> {
  const r = await fetch(url + '/v3/kv/put', { method: 'POST', body: JSON.stringify({ key: b64(key), value: b64(value) }) });
  return Number(JSON.parse(await r.text()).header.revision);
}
const events = (frames: string[]) => frames.map(decodeFrame).flatMap((r) => r?.events ?? []);
const ALL: WatchCreateRequest = { key: Buffer.from([0]), rangeEnd: Buffer.of(0), startRevision: 0, progressNotify: false, prevKv: false, noPut: false, noDelete: false, watchId: 0, fragment: false };

test('a paused reader does not hold others back and catches up in order', async () => {
  const s = await startTestServer({ wsHighWaterBytes: 64 * 1024 }, { memory: true });
  try {
    const slow = await openWs(s.url);
    const fast = await openWs(s.url);
    for (const c of [slow, fast]) c.ws.send('{"create_request":{"key":"AA==","range_end":"AA=="}}');
    await until(() => slow.frames.length === 1 && fast.frames.length === 1, 'created');
    (slow.ws as any)._socket.pause();
    const value = 'x'.repeat(4096);
    const N = 400;
    let last = 0;
    for (let i = 0; i < N; i++) last = await put(s.url, `k${i % 20}`, value + i);
    await until(() => events(fast.frames).length === N, 'fast reader got every event while the slow one is paused');
    assert.ok(events(slow.frames).length < N, 'the slow reader is really behind');
    (slow.ws as any)._socket.resume();
    await until(() => events(slow.frames).length === N, 'slow reader caught up');
    const history = await s.server.store.history(2, last, { withPrevKv: true });
    const created = decodeFrame(slow.frames[0]!)!;
    for (const c of [slow, fast]) {
      const responses = c.frames.map((f) => decodeFrame(f)!);
      assert.equal(validateWatcher(history, { request: { ...ALL, startRevision: created.revision + 1 }, responses }), []);
      assert.equal(events(c.frames).map((e) => e.kv.modRevision), Array.from({ length: N }, (_, i) => i + 2));
    }
    slow.ws.close();
    fast.ws.close();
  } finally {
    await s.stop();
  }
});

test('a client that stays unreadable is disconnected with 1008', async () => {
  const s = await startTestServer({ wsHighWaterBytes: 16 * 1024, wsMaxUnreadableMs: 300 }, { memory: true });
  try {
    const c = await openWs(s.url);
    c.ws.send('{"create_request":{"key":"AA==","range_end":"AA=="}}');
    await until(() => c.frames.length === 1, 'created');
    (c.ws as any)._socket.pause();
    // big values: the kernel's loopback buffers must fill before the server's own buffer does
    for (let i = 0; i < 40; i++) await put(s.url, `k${i}`, 'y'.repeat(256 * 1024));
    await new Promise((r) => setTimeout(r, 600));
    (c.ws as any)._socket.resume();
    await until(() => c.closed !== undefined, 'closed');
    assert.is(c.closed!.code, 1008);
    assert.match(c.closed!.reason, 'did not read');
  } finally {
    await s.stop();
  }
});

test('graceful shutdown closes watch sockets with 1001; restart resumes at the same revision', async () => {
  let s = await startTestServer({});
  const dir = s.dataDir;
  const c = await openWs(s.url);
  c.ws.send('{"create_request":{"key":"AA==","range_end":"AA=="}}');
  await until(() => c.frames.length === 1, 'created');
  let last = 0;
  for (let i = 0; i < 10; i++) last = await put(s.url, `r${i}`, `v${i}`);
  await until(() => events(c.frames).length === 10, 'events before restart');
  const member = JSON.parse(c.frames[0]!).result.header.member_id;
  await s.stop({ keepDir: true });
  await until(() => c.closed !== undefined, 'closed on shutdown');
  assert.is(c.closed!.code, 1001);

  s = await startTestServer({}, { dataDir: dir });
  try {
    const st = JSON.parse(await (await fetch(s.url + '/v3/maintenance/status', { method: 'POST', body: '{}' })).text());
    assert.is(Number(st.header.revision), last);
    assert.is(st.header.member_id, member);
    const r = await openWs(s.url);
    r.ws.send(JSON.stringify({ create_request: { key: 'AA==', range_end: 'AA==', start_revision: last + 1 } }));
    await until(() => r.frames.length === 1, 'created after restart');
    for (let i = 0; i < 5; i++) await put(s.url, `r${i}`, `w${i}`);
    await until(() => events(r.frames).length === 5, 'events after restart');
    assert.equal(events(r.frames).map((e) => e.kv.modRevision), [last + 1, last + 2, last + 3, last + 4, last + 5]);
    r.ws.close();
  } finally {
    await s.stop();
  }
});

test.run();
