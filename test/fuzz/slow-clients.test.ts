/**
 * Hostile-but-slow clients: slowloris (headers dribbled byte by byte), half-open sockets (a body
 * promised and never sent, or a connection that says nothing), and WebSockets that never read
 * while a lot is written to the keys they watch. While they hang around, a normal client's
 * put + range still answer, a normal watcher still gets every event exactly once in order, and
 * the server's memory growth stays under a generous bound (measured in-process).
 * Assertions are on server-observable facts, never on speed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { watchkvConfig } from '../support/etcd-pair.ts';
import { b64, openWsWatch, post } from '../support/http-client.ts';

const MiB = 1024 * 1024;
let server: RunningServer;
let dir = '';
let port = 0;
const sockets: Socket[] = [];

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'watchkv-slow-'));
  server = await startServer(watchkvConfig(dir), new MemoryBackend());
  port = Number(new URL(server.address).port);
});
test.after(async () => {
  for (const s of sockets) s.destroy();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function rawSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => {}); // the server may close it: that is allowed
    s.once('error', reject);
    sockets.push(s);
  });
}

async function normalClientWorks(tag: string): Promise<void> {
  const key = b64(`/slow/normal/${tag}`);
  const p = await post(server.address, '/v3/kv/put', { key, value: b64(tag) }, 10_000);
  assert.is(p.status, 200, `${tag}: put answered`);
  const r = await post(server.address, '/v3/kv/range', { key }, 10_000);
  assert.is(r.status, 200, `${tag}: range answered`);
  assert.is(Buffer.from(r.body.kvs[0].value, 'base64').toString(), tag);
}

test('slowloris + half-open sockets do not block a normal client', async () => {
  const dribblers = await Promise.all(Array.from({ length: 40 }, rawSocket));
  const request = 'POST /v3/kv/put HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: ' + 'a'.repeat(200);
  let i = 0;
  const timer = setInterval(() => {
    for (const s of dribblers) if (!s.destroyed) s.write(request[i % request.length]!);
    i++;
  }, 20);
  // Half-open: a body promised and never delivered, and connections that never speak.
  const promised = await Promise.all(Array.from({ length: 20 }, rawSocket));
  for (const s of promised) s.write('POST /v3/kv/put HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"key":"');
  await Promise.all(Array.from({ length: 20 }, rawSocket));
  try {
    for (let round = 0; round < 10; round++) {
      await normalClientWorks(`slowloris-${round}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    clearInterval(timer);
  }
});

test('WebSockets that never read: bounded memory, a normal watcher gets every event once', async () => {
  const url = server.address.replace('http', 'ws') + '/v3/watch';
  const stuck: WebSocket[] = [];
  for (let i = 0; i < 20; i++) {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('error', () => {});
    ws.send(JSON.stringify({ create_request: { key: b64('/slow/big/'), range_end: b64('/slow/big0'), prev_kv: true } }));
    await new Promise((r) => ws.once('message', r)); // created
    (ws as unknown as { _socket: Socket })._socket.pause(); // never read again
    stuck.push(ws);
  }
  const normal = await openWsWatch(server.address);
  normal.send({ create_request: { key: b64('/slow/big/'), range_end: b64('/slow/big0') } });
  await normal.waitFor((m) => m.result?.created);

  const before = process.memoryUsage();
  const value = b64('v'.repeat(50_000));
  const revs: string[] = [];
  // 200 × 50 kB with prev_kv to 20 stalled watchers: unbounded buffering would hold > 500 MB.
  for (let i = 0; i < 200; i++) {
    const r = await post(server.address, '/v3/kv/put', { key: b64(`/slow/big/${i % 10}`), value }, 10_000);
    assert.is(r.status, 200);
    revs.push(r.body.header.revision);
    if (i % 50 === 0) await normalClientWorks(`stalled-ws-${i}`);
  }
  await normal.waitFor((m) => (m.result?.events ?? []).some((e: any) => e.kv.mod_revision === revs[revs.length - 1]), 20_000);
  const after = process.memoryUsage();
  const grownMiB = (after.rss - before.rss) / MiB;
  console.log(`memory: rss ${(before.rss / MiB).toFixed(0)} → ${(after.rss / MiB).toFixed(0)} MiB, heap ${(before.heapUsed / MiB).toFixed(0)} → ${(after.heapUsed / MiB).toFixed(0)} MiB (store holds ~${((200 * 50_000) / MiB).toFixed(0)} MiB of values)`);
  assert.ok(grownMiB < 250, `server memory grew by ${grownMiB.toFixed(0)} MiB with 20 non-reading sockets (bound 250 MiB)`);
  const seen = normal.messages.flatMap((m) => (m.result?.events ?? []).map((e: any) => e.kv.mod_revision));
  assert.equal(seen, revs, 'the normal watcher got every event exactly once, in order');
  await normalClientWorks('after-stalled');
  for (const ws of stuck) ws.terminate();
  await normal.close();
});

test.run();
