/**
 * Leases over the real server (LevelDB, 127.0.0.1, ephemeral port), as a gateway client sees
 * them: the unary endpoints at both paths, their errors, put with a lease, revoke and expiry as
 * DELETE events on a watch, and keep-alive as a streaming POST (one chunk per answer, answered
 * while the body is still open) and over a WebSocket.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import WebSocket from 'ws';
import { b64, openWsWatch, post } from '../support/http-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

let s: TestServer;
test.before(async () => {
  s = await startTestServer();
});
test.after(async () => s.stop());

const strip = (body: any) => {
  const { header, ...rest } = body;
  return { rev: header?.revision, ...rest };
};

test('grant, timetolive with keys, leases, revoke — at /v3/lease and /v3/kv/lease', async () => {
  const g = await post(s.url, '/v3/lease/grant', { TTL: 60, ID: '7587870000000001' });
  assert.is(g.status, 200);
  assert.equal(strip(g.body), { rev: '1', ID: '7587870000000001', TTL: '60' });
  const auto = await post(s.url, '/v3/lease/grant', { TTL: 0 });
  assert.is(auto.body.TTL, '2', 'TTL 0 is raised to the minimum');
  assert.ok(BigInt(auto.body.ID) > 0n);
  const p = await post(s.url, '/v3/kv/put', { key: b64('/l/a'), value: b64('v'), lease: '7587870000000001' });
  assert.is(p.status, 200);
  const r = await post(s.url, '/v3/kv/range', { key: b64('/l/a') });
  assert.is(r.body.kvs[0].lease, '7587870000000001');
  const t = await post(s.url, '/v3/kv/lease/timetolive', { ID: '7587870000000001', keys: true });
  assert.equal(strip(t.body), { rev: '2', ID: '7587870000000001', TTL: '59', grantedTTL: '60', keys: [b64('/l/a')] });
  const ls = await post(s.url, '/v3/kv/lease/leases', {});
  assert.equal(strip(ls.body), { rev: '2', leases: [{ ID: auto.body.ID }, { ID: '7587870000000001' }] });
  const rv = await post(s.url, '/v3/kv/lease/revoke', { ID: '7587870000000001' });
  assert.equal([rv.status, rv.body.header.revision], [200, '3']);
  assert.is((await post(s.url, '/v3/kv/range', { key: b64('/l/a') })).body.count, undefined, 'key deleted');
  const rv2 = await post(s.url, '/v3/lease/revoke', { ID: auto.body.ID });
  assert.equal([rv2.status, rv2.body.header.revision], [200, '3'], 'no keys: no new revision');
  assert.equal(strip((await post(s.url, '/v3/lease/leases', '')).body), { rev: '3' });
});

test('errors: unknown lease (404), duplicate id (412), TTL too large (400 OutOfRange), TTL -1 for unknown', async () => {
  const cases: Array<[string, unknown, number, any]> = [
    ['/v3/lease/revoke', { ID: 42 }, 404, { error: 'etcdserver: requested lease not found', code: 5 }],
    ['/v3/kv/put', { key: b64('/l/x'), value: b64('v'), lease: 42 }, 404, { error: 'etcdserver: requested lease not found', code: 5 }],
    ['/v3/kv/txn', { success: [{ request_put: { key: b64('/l/x'), lease: '42' } }] }, 404, { error: 'etcdserver: requested lease not found', code: 5 }],
    ['/v3/lease/grant', { TTL: 9000000001 }, 400, { error: 'etcdserver: too large lease TTL', code: 11 }],
    ['/v3/lease/grant', { TTL: true }, 400, { code: 3 }],
  ];
  for (const [path, body, status, want] of cases) {
    const r = await post(s.url, path, body);
    assert.is(r.status, status, `${path} ${JSON.stringify(body)}`);
    for (const [k, v] of Object.entries(want)) assert.is(r.body[k], v, `${path} ${k}`);
  }
  assert.is((await post(s.url, '/v3/lease/grant', { TTL: 5, ID: 43 })).status, 200);
  const dup = await post(s.url, '/v3/lease/grant', { TTL: 5, ID: 43 });
  assert.equal([dup.status, dup.body.error, dup.body.code], [412, 'etcdserver: lease already exists', 9]);
  const unknown = await post(s.url, '/v3/lease/timetolive', { ID: 44 });
  assert.equal([unknown.status, strip(unknown.body).TTL, unknown.body.ID, unknown.body.grantedTTL], [200, '-1', '44', undefined]);
  await post(s.url, '/v3/lease/revoke', { ID: 43 });
});

test('revoke and expiry: the keys go in one revision, watchers see DELETE events with prev_kv', async () => {
  const w = await openWsWatch(s.url);
  w.send({ create_request: { key: b64('/x/'), range_end: b64('/x0'), prev_kv: true } });
  await w.waitFor((m) => m.result?.created);
  const granted = Date.now();
  await post(s.url, '/v3/lease/grant', { TTL: 2, ID: 500 });
  for (const k of ['/x/b', '/x/a']) await post(s.url, '/v3/kv/put', { key: b64(k), value: b64('v'), lease: 500 });
  const del = await w.waitFor((m) => m.result?.events?.[0]?.type === 'DELETE', 20_000);
  const elapsed = Date.now() - granted;
  assert.ok(elapsed >= 2000, `expired after ${elapsed} ms: before its TTL of 2 s`);
  assert.equal(
    del.result.events.map((e: any) => [e.type, Buffer.from(e.kv.key, 'base64').toString(), e.prev_kv.lease]),
    [['DELETE', '/x/a', '500'], ['DELETE', '/x/b', '500']],
    'both keys in one response, sorted',
  );
  assert.is(del.result.events[0].kv.mod_revision, del.result.events[1].kv.mod_revision);
  assert.is((await post(s.url, '/v3/lease/timetolive', { ID: 500 })).body.TTL, '-1');
  await w.close();
});

/** A streaming POST over a raw socket: returns each HTTP chunk's payload as it arrives. */
function rawStream(url: string, path: string): { send(s: string): void; end(): void; chunks: string[]; next(): Promise<string>; ended: Promise<void> } {
  const u = new URL(url);
  const sock = net.connect(Number(u.port), u.hostname);
  sock.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n`);
  const chunks: string[] = [];
  let buf = Buffer.alloc(0);
  let headersDone = false;
  let waiter: (() => void) | undefined;
  let endResolve!: () => void;
  const ended = new Promise<void>((r) => (endResolve = r));
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (!headersDone) {
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      assert.match(buf.subarray(0, i).toString(), /^HTTP\/1.1 200/);
      buf = buf.subarray(i + 4);
      headersDone = true;
    }
    for (;;) {
      const i = buf.indexOf('\r\n');
      if (i < 0) return;
      const size = parseInt(buf.subarray(0, i).toString(), 16);
      if (buf.length < i + 2 + size + 2) return;
      if (size === 0) {
        endResolve();
        return;
      }
      chunks.push(buf.subarray(i + 2, i + 2 + size).toString());
      buf = buf.subarray(i + 2 + size + 2);
      waiter?.();
    }
  });
  const sendChunk = (str: string) => sock.write(`${Buffer.byteLength(str).toString(16)}\r\n${str}\r\n`);
  let read = 0;
  return {
    send: sendChunk,
    end: () => sock.write('0\r\n\r\n'),
    chunks,
    ended,
    next: async () => {
      while (chunks.length <= read) await new Promise<void>((r) => (waiter = r));
      return chunks[read++]!;
    },
  };
}

test('keepalive stream: answered while the body is open, one chunk per answer, ends with the body', async () => {
  await post(s.url, '/v3/lease/grant', { TTL: 30, ID: 600 });
  const st = rawStream(s.url, '/v3/lease/keepalive');
  st.send('{"ID":"600"}');
  const first = await st.next();
  assert.ok(first.endsWith('\n'));
  assert.equal(JSON.parse(first).result.ID, '600');
  assert.equal(JSON.parse(first).result.TTL, '30');
  st.send('{"ID":601}{"ID"');
  st.send(':600}\n');
  const second = await st.next();
  assert.equal(strip(JSON.parse(second).result), { rev: JSON.parse(second).result.header.revision, ID: '601' }, 'unknown lease: TTL omitted');
  const third = await st.next();
  assert.is(JSON.parse(third).result.TTL, '30');
  st.send('{"ID":"x"}');
  const err = JSON.parse(await st.next());
  assert.is(err.error.grpc_code, 3, 'a malformed later message: in-stream error');
  st.end();
  await st.ended;
  for (const c of st.chunks) {
    assert.ok(c.endsWith('\n') && c.indexOf('\n') === c.length - 1, `one message per chunk: ${JSON.stringify(c)}`);
    JSON.parse(c);
  }
  const bad = await post(s.url, '/v3/lease/keepalive', 'x');
  assert.equal([bad.status, bad.body.code], [400, 3], 'a malformed first message is an HTTP 400');
  await post(s.url, '/v3/lease/revoke', { ID: 600 });
});

test('keepalive stream: an ID above 2^53 sent as a JSON number keeps that lease, not a rounded one', async () => {
  // Python clients (etcd3gw) send the ID as an int; JSON.parse would make 4985026643733812451
  // 4985026643733812000, another (unknown) lease.
  const id = '4985026643733812451';
  assert.is((await post(s.url, '/v3/lease/grant', { TTL: 30, ID: id })).status, 200);
  const r = await post(s.url, '/v3/lease/keepalive', `{"ID":${id}}`);
  assert.is(r.status, 200, JSON.stringify(r.body));
  assert.equal([r.body.result.ID, r.body.result.TTL], [id, '30']);
  await post(s.url, '/v3/lease/revoke', { ID: id });
});

test('keepalive over WebSocket: one frame per request and per answer; the lease stays alive', async () => {
  await post(s.url, '/v3/lease/grant', { TTL: 3, ID: 700 });
  await post(s.url, '/v3/kv/put', { key: b64('/ka/k'), value: b64('v'), lease: 700 });
  const ws = new WebSocket(s.url.replace('http', 'ws') + '/v3/lease/keepalive');
  const frames: any[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  await new Promise((r) => ws.once('open', r));
  const started = Date.now();
  while (Date.now() - started < 4000) {
    ws.send(JSON.stringify({ ID: 700 }));
    await new Promise((r) => setTimeout(r, 400));
  }
  ws.send('nope');
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(frames.length >= 7, `frames: ${frames.length}`);
  assert.ok(frames.slice(0, -1).every((f) => f.result.TTL === '3' && f.result.ID === '700'));
  assert.is(frames[frames.length - 1].error.grpc_code, 3);
  assert.is((await post(s.url, '/v3/kv/range', { key: b64('/ka/k') })).body.count, '1', 'kept alive past its TTL');
  ws.close();
  await post(s.url, '/v3/lease/revoke', { ID: 700 });
});

test.run();
