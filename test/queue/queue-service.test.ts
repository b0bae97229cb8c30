/**
 * The queue service over an in-memory store, without HTTP: FIFO with retries keeping their
 * place, credits, round-robin, deadline and disconnect outcomes, group commit (one revision per
 * batch), and a restore that rebuilds the same state from the store.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { openKvStore, type KvStore } from '../../src/mvcc/kv-store.ts';
import { openQueues, type QueueServiceImpl } from '../../src/queue/queue-service.ts';
import type { Delivery } from '../../src/queue/queue-api.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function setup(): Promise<{ kv: KvStore; q: QueueServiceImpl }> {
  const kv = await openKvStore(new MemoryBackend());
  return { kv, q: await openQueues(kv) };
}

function collector(): { got: Delivery[]; sink: { deliver: (d: Delivery) => void; expired: (id: string) => void }; expired: string[] } {
  const got: Delivery[] = [];
  const expired: string[] = [];
  return { got, expired, sink: { deliver: (d) => got.push(d), expired: (id) => expired.push(id) } };
}

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

test('a batch is one txn; ids increase; deliveries come FIFO and a retry keeps its place', async () => {
  const { kv, q } = await setup();
  const r1 = await q.enqueue('a', ['1', '2', '3']);
  assert.is(kv.currentRevision(), r1.revision);
  await q.enqueue('a', ['4']);
  const c = collector();
  const con = q.consume('a', c.sink, { kind: 'ws' });
  con.addCredit(2);
  await until(() => c.got.length === 2);
  assert.equal(c.got.map((d) => d.valueJson), ['1', '2']);
  await q.configure('a', { backoffMinMs: 0, backoffMaxMs: 0 });
  await q.nack('a', [c.got[0]!.id], 0);
  con.addCredit(2);
  await until(() => c.got.length === 4);
  assert.equal(c.got.slice(2).map((d) => [d.valueJson, d.attempt]), [['1', 2], ['3', 1]], 'the retried item goes before newer ones');
  con.close(true);
  await q.close();
  await kv.close();
});

test('transitions of one turn share one revision (group commit per queue)', async () => {
  const { kv, q } = await setup();
  await q.enqueue('g', Array.from({ length: 50 }, (_, i) => String(i)));
  const c = collector();
  const before = kv.currentRevision();
  q.consume('g', c.sink, { kind: 'ws' }).addCredit(50);
  await until(() => c.got.length === 50);
  assert.is(kv.currentRevision() - before, 1, '50 deliveries, one txn');
  const r = await q.ack('g', c.got.map((d) => d.id));
  assert.is(r.done.length, 50);
  assert.is(kv.currentRevision() - before, 2, '50 acks, one txn');
  await q.close();
  await kv.close();
});

test('deadline: expired notice and retry; http-held items stay in flight after the take ends', async () => {
  const { kv, q } = await setup();
  await q.configure('d', { visibilityMs: 60, backoffMinMs: 1, backoffMaxMs: 1 });
  await q.enqueue('d', ['"x"', '"y"']);
  const c = collector();
  const ws = q.consume('d', c.sink, { kind: 'ws' });
  ws.addCredit(1);
  const h = collector();
  const http = q.consume('d', h.sink, { kind: 'http', visibilityMs: 5000 });
  http.addCredit(1);
  await until(() => c.got.length === 1 && h.got.length === 1);
  http.close(false);
  assert.is(q.stats('d').inFlight, 2);
  await until(() => c.expired.length === 1);
  assert.is(c.expired[0], c.got[0]!.id);
  ws.addCredit(1);
  await until(() => c.got.length === 2);
  assert.is(c.got[1]!.attempt, 2);
  ws.close(true);
  assert.is(q.stats('d').inFlight, 1, 'the http take still holds its item');
  await q.close();
  await kv.close();
});

test('restore rebuilds ready, delayed, in-flight (http keeps deadline, ws returns) and dead', async () => {
  const { kv, q } = await setup();
  await q.configure('r', { maxAttempts: 2, backoffMinMs: 60_000, backoffMaxMs: 60_000, visibilityMs: 60_000 });
  const { ids } = await q.enqueue('r', ['"a"', '"b"', '"c"', '"d"', '"e"']);
  const w = collector();
  const ws = q.consume('r', w.sink, { kind: 'ws' });
  ws.addCredit(3);
  await until(() => w.got.length === 3);
  await q.nack('r', [ids[0]!], undefined, ws); // a: delayed 60 s (attempt 1)
  const h = collector();
  const http = q.consume('r', h.sink, { kind: 'http' });
  http.addCredit(1);
  await until(() => h.got.length === 1); // d: in flight (http)
  http.close(false);
  await q.configure('r', { maxAttempts: 1 }); // b, c are held by ws with attempt 1: the restart fails them → dead
  assert.equal(q.stats('r').inFlight, 3);
  await q.close(); // like a crash: ws still "holds" b and c in the store
  const q2 = await openQueues(kv, { scanBatchRecords: 2 }); // pages of 2: every page boundary is crossed
  await until(() => q2.stats('r').dead === 2);
  const st = q2.stats('r');
  assert.equal([st.ready, st.delayed, st.inFlight, st.dead], [2, 1, 1, 2], JSON.stringify(st)); // a (delayed), e; d; b, c
  assert.is(q2.settings('r').maxAttempts, 1);
  const again = await q2.enqueue('r', ['"f"']);
  assert.ok(again.ids[0]! > ids[4]!, 'ids keep increasing across a restart');
  await q2.close();
  await kv.close();
});

test('items put under /queues/{name}/items/ by another writer are adopted and delivered', async () => {
  const { kv, q } = await setup();
  const c = collector();
  q.consume('ext', c.sink, { kind: 'ws' }).addCredit(1);
  await kv.put({ key: Buffer.from('/queues/ext/items/0000000000000042'), value: Buffer.from('{"value":{"hand":"written"}}') });
  await until(() => c.got.length === 1);
  assert.equal([c.got[0]!.id, c.got[0]!.valueJson], ['0000000000000042', '{"hand":"written"}']);
  await kv.deleteRange({ key: Buffer.from('/queues/ext/items/0000000000000042') });
  assert.is(q.stats('ext').inFlight, 0, 'a delete by another writer is seen');
  await q.close();
  await kv.close();
});

test.run();
