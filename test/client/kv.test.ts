/**
 * The SDK's unary calls against a real server: KV (strings and bytes, prefixes, paging at one
 * revision), txn, compaction, leases with keep-alive, status, typed errors with the server's
 * code, and failover to a second endpoint.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import {
  WatchKvClient,
  op,
  CompactedError,
  ConnectionError,
  InvalidArgumentError,
  NotFoundError,
  FutureRevisionError,
  GrpcCode,
} from '../../src/client/node.ts';

let s: TestServer;
let c: WatchKvClient;

test.before(async () => {
  s = await startTestServer({}, { memory: true });
  c = new WatchKvClient({ endpoints: [s.url] });
});
test.after(async () => {
  c.close();
  await s.stop();
});

test('put and get strings and bytes', async () => {
  const p = await c.put('/kv/a', 'héllo');
  assert.ok(p.revision > 1);
  const kv = await c.get('/kv/a');
  assert.is(kv?.value, 'héllo');
  assert.is(kv?.key, '/kv/a');
  assert.is(kv?.modRevision, p.revision);
  assert.is(kv?.version, 1);
  const bin = new Uint8Array([0, 255, 1, 128]);
  await c.put(new Uint8Array([1, 2, 0xff]), bin);
  const b = await c.get(new Uint8Array([1, 2, 0xff]));
  assert.equal([...b!.valueBytes], [...bin]);
  assert.is(await c.get('/kv/missing'), undefined);
  const prev = await c.put('/kv/a', 'x', { prevKv: true });
  assert.is(prev.prevKv?.value, 'héllo');
});

test('range by prefix, limit, revision, keys only; pages share one revision', async () => {
  for (let i = 0; i < 25; i++) await c.put(`/pg/${String(i).padStart(2, '0')}`, `v${i}`);
  const all = await c.range('/pg/', { prefix: true });
  assert.is(all.count, 25);
  assert.is(all.kvs[0]!.key, '/pg/00');
  const lim = await c.range('/pg/', { prefix: true, limit: 5, keysOnly: true });
  assert.is(lim.kvs.length, 5);
  assert.ok(lim.more);
  assert.is(lim.kvs[0]!.value, '');
  const before = all.revision;
  await c.put('/pg/00', 'changed');
  const old = await c.get('/pg/00', { revision: before });
  assert.is(old?.value, 'v0');
  // Pages at the first page's revision: a write between pages is not seen.
  const keys: string[] = [];
  let revs = new Set<number>();
  for await (const page of c.kv.pages('/pg/', { prefix: true, pageSize: 7 })) {
    revs.add(page.revision);
    if (keys.length === 0) await c.put('/pg/99', 'late');
    for (const kv of page.kvs) keys.push(kv.key);
  }
  assert.is(keys.length, 25);
  assert.is(revs.size, 1);
  assert.is(new Set(keys).size, 25);
});

test('delete a key and a prefix', async () => {
  await c.put('/del/a', '1');
  await c.put('/del/b', '2');
  const d1 = await c.delete('/del/a', { prevKv: true });
  assert.is(d1.deleted, 1);
  assert.is(d1.prevKvs[0]!.value, '1');
  const d2 = await c.delete('/del/', { prefix: true });
  assert.is(d2.deleted, 1);
});

test('txn: compare-and-swap both ways, nested responses decoded', async () => {
  const t1 = await c.txn().if('/txn/k', 'version', '==', 0).then(op.put('/txn/k', 'first')).else(op.get('/txn/k')).commit();
  assert.ok(t1.succeeded);
  assert.is(t1.responses[0]!.type, 'put');
  const t2 = await c.txn().if('/txn/k', 'version', '==', 0).then(op.put('/txn/k', 'second')).else(op.get('/txn/k')).commit();
  assert.not.ok(t2.succeeded);
  const r = t2.responses[0]!;
  assert.is(r.type, 'range');
  if (r.type === 'range') assert.is(r.kvs[0]!.value, 'first');
  const t3 = await c.txn().if('/txn/k', 'value', '==', 'first').then(op.delete('/txn/k', { prevKv: true })).commit();
  assert.ok(t3.succeeded);
});

test('typed errors carry the server code', async () => {
  const st = await c.status();
  try {
    await c.get('/x', { revision: st.header.revision + 100 });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, FutureRevisionError);
    assert.is((e as FutureRevisionError).grpcCode, GrpcCode.OutOfRange);
    assert.is((e as FutureRevisionError).httpStatus, 400);
  }
  const p = await c.put('/cmp/a', '1');
  await c.put('/cmp/a', '2');
  await c.compact(p.revision + 1);
  try {
    await c.get('/cmp/a', { revision: p.revision });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, CompactedError);
    assert.is((e as CompactedError).grpcCode, 11);
  }
  try {
    await c.put('', 'v');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, InvalidArgumentError);
    assert.is((e as InvalidArgumentError).grpcCode, 3);
  }
  try {
    await c.lease.revoke('123456');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, NotFoundError);
    assert.is((e as NotFoundError).grpcCode, 5);
  }
});

test('leases: grant, attach, keep alive past the TTL, timetolive, list, revoke deletes keys', async () => {
  const lease = await c.lease.grantWithKeepAlive(1);
  await c.put('/lease/k', 'v', { lease: lease.id });
  const renewals: number[] = [];
  lease.on('keepalive', (ttl) => renewals.push(ttl));
  // Past the 1 s TTL (plus the server's expiry check): the key is still there because of renewals.
  await new Promise((r) => setTimeout(r, 2_600));
  assert.ok(renewals.length >= 2, `renewals ${renewals.length}`);
  assert.is((await c.get('/lease/k'))?.lease, lease.id);
  const ttl = await c.lease.timeToLive(lease.id, { keys: true });
  assert.equal(ttl.keys, ['/lease/k']);
  assert.ok((await c.lease.leases()).includes(lease.id));
  await lease.revoke();
  assert.is(await c.get('/lease/k'), undefined);
  try {
    await c.lease.keepAliveOnce(lease.id);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, NotFoundError);
  }
});

test('a lease revoked elsewhere is reported lost', async () => {
  const lease = await c.lease.grantWithKeepAlive(1);
  const lost = new Promise((r) => lease.on('lost', r));
  await c.lease.revoke(lease.id);
  assert.instance(await lost, NotFoundError);
});

test('status and failover to the endpoint that answers; none answering is a ConnectionError', async () => {
  const two = new WatchKvClient({ endpoints: ['http://127.0.0.1:1', s.url] });
  const st = await two.status();
  assert.ok(st.version.length > 0);
  assert.ok(st.header.revision > 0);
  assert.is(two.endpoints[1], s.url);
  const none = new WatchKvClient({ endpoints: ['127.0.0.1:1'] });
  try {
    await none.get('/x');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ConnectionError);
  }
});

test.run();
