/**
 * The queue HTTP API end to end on a real server (LevelDB on a temp dir): every route, its
 * answers, and bad input → 4xx with a message, never a crash.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/test-server.ts';
import { call, enqueue, sleep } from './queue-client.ts';

let s: TestServer;
test.before(async () => {
  s = await startTestServer();
});
test.after(async () => s.stop());

test('enqueue one, a batch (JSON array, NDJSON), text; ids increase; take is FIFO', async () => {
  const one = await call(s.url, 'POST', '/v1/queues/fifo/items', { job: 1 });
  assert.is(one.status, 200);
  assert.is(one.body.ids.length, 1);
  const batch = await enqueue(s.url, 'fifo', [2, 'three', [4]]);
  const nd = await call(s.url, 'POST', '/v1/queues/fifo/items', '{"n":5}\n\n{"n":6}\n', 'application/x-ndjson');
  assert.is(nd.status, 200, JSON.stringify(nd.body));
  const text = await call(s.url, 'POST', '/v1/queues/fifo/items', 'plain words', 'text/plain');
  const ids = [...one.body.ids, ...batch, ...nd.body.ids, ...text.body.ids];
  assert.equal([...ids].sort(), ids, 'ids increase');
  assert.is(new Set(ids).size, 7);
  const taken = await call(s.url, 'POST', '/v1/queues/fifo/take?max=10');
  assert.is(taken.status, 200);
  assert.equal(
    taken.body.items.map((i: any) => i.value),
    [{ job: 1 }, 2, 'three', [4], { n: 5 }, { n: 6 }, 'plain words'],
  );
  assert.equal(taken.body.items.map((i: any) => i.id), ids);
  const it = taken.body.items[0];
  assert.is(it.attempt, 1);
  assert.ok(it.enqueued_revision > 1);
  assert.ok(it.deadline_ms > Date.now() + 20_000, 'default visibility is 30 s');
  const st = await call(s.url, 'GET', '/v1/queues/fifo');
  assert.is(st.body.in_flight, 7);
  assert.is(st.body.ready, 0);
  const ack = await call(s.url, 'POST', '/v1/queues/fifo/ack', { ids });
  assert.equal(ack.body, { acked: ids, not_found: [] });
  const again = await call(s.url, 'POST', '/v1/queues/fifo/ack', { ids: [ids[0]] });
  assert.equal(again.body, { acked: [], not_found: [ids[0]] }, 'ack is idempotent');
  assert.is((await call(s.url, 'GET', '/v1/queues/fifo')).body.in_flight, 0);
});

test('take long-polls: answers when an item arrives, or empty after wait', async () => {
  const t0 = Date.now();
  const empty = await call(s.url, 'POST', '/v1/queues/poll/take?max=3&wait=150ms');
  assert.equal(empty.body, { items: [] });
  assert.ok(Date.now() - t0 >= 140, 'waited');
  const pending = call(s.url, 'POST', '/v1/queues/poll/take?max=3&wait=10s');
  await sleep(100);
  const t1 = Date.now();
  const [id] = await enqueue(s.url, 'poll', ['wake']);
  const got = await pending;
  assert.ok(Date.now() - t1 < 2000, 'woken by the enqueue, not the wait');
  assert.equal(got.body.items.map((i: any) => i.id), [id]);
  await call(s.url, 'POST', '/v1/queues/poll/ack', { ids: [id] });
});

test('nack: retried after delay_ms with attempt+1; dead after max_attempts with history', async () => {
  assert.is((await call(s.url, 'PUT', '/v1/queues/retry', { max_attempts: 2, backoff_min_ms: 10, backoff_max_ms: 20 })).status, 200);
  const [id] = await enqueue(s.url, 'retry', ['x']);
  const a = await call(s.url, 'POST', '/v1/queues/retry/take');
  assert.is(a.body.items[0].attempt, 1);
  const n = await call(s.url, 'POST', '/v1/queues/retry/nack', { ids: [id], delay_ms: 50 });
  assert.equal(n.body, { nacked: [id], not_found: [] });
  const st = (await call(s.url, 'GET', '/v1/queues/retry')).body;
  assert.is(st.ready, 1);
  assert.is(st.delayed, 1);
  const b = await call(s.url, 'POST', '/v1/queues/retry/take?wait=5s');
  assert.is(b.body.items[0].id, id);
  assert.is(b.body.items[0].attempt, 2);
  await call(s.url, 'POST', '/v1/queues/retry/nack', { ids: [id] });
  const st2 = (await call(s.url, 'GET', '/v1/queues/retry')).body;
  assert.equal([st2.ready, st2.in_flight, st2.dead], [0, 0, 1]);
  const dead = await call(s.url, 'GET', `/v1/kv/%2Fqueues/retry/dead/${id}`);
  const rec = JSON.parse(dead.body.value);
  assert.is(rec.state, 'dead');
  assert.is(rec.value, 'x');
  assert.equal(rec.history.map((h: any) => [h.attempt, h.outcome]), [[1, 'nack'], [2, 'nack']]);
  assert.is((await call(s.url, 'POST', '/v1/queues/retry/ack', { ids: [id] })).body.not_found[0], id, 'a dead item cannot be acked');
});

test('visibility deadline: an unacked take comes back; extend pushes the deadline', async () => {
  await call(s.url, 'PUT', '/v1/queues/vis', { backoff_min_ms: 1, backoff_max_ms: 5 });
  const [id] = await enqueue(s.url, 'vis', ['v']);
  const a = await call(s.url, 'POST', '/v1/queues/vis/take?visibility_ms=500');
  assert.is(a.body.items[0].id, id);
  const ext = await call(s.url, 'POST', '/v1/queues/vis/extend', { ids: [id], ms: 1500 });
  assert.equal(ext.body, { extended: [id], not_found: [] });
  await sleep(700);
  assert.is((await call(s.url, 'GET', '/v1/queues/vis')).body.in_flight, 1, 'extended: still in flight');
  const b = await call(s.url, 'POST', '/v1/queues/vis/take?wait=3s');
  assert.is(b.body.items[0].id, id);
  assert.is(b.body.items[0].attempt, 2);
  await call(s.url, 'POST', '/v1/queues/vis/ack', { ids: [id] });
});

test('settings: PUT merges, GET shows them; list; purge (and ?dead=true)', async () => {
  const put = await call(s.url, 'PUT', '/v1/queues/adm', { visibility_ms: 1234 });
  assert.equal(put.body.settings, { visibility_ms: 1234, backoff_min_ms: 1000, backoff_max_ms: 300000, max_attempts: 10 });
  const put2 = await call(s.url, 'PUT', '/v1/queues/adm', { max_attempts: 1 });
  assert.is(put2.body.settings.visibility_ms, 1234);
  assert.is(put2.body.settings.max_attempts, 1);
  const fresh = await call(s.url, 'GET', '/v1/queues/never-used');
  assert.equal(fresh.body.settings.max_attempts, 10, 'defaults for an unknown queue');
  const ids = await enqueue(s.url, 'adm', [1, 2, 3]);
  const t = await call(s.url, 'POST', '/v1/queues/adm/take');
  await call(s.url, 'POST', '/v1/queues/adm/nack', { ids: [t.body.items[0].id] });
  const list = await call(s.url, 'GET', '/v1/queues');
  const adm = list.body.queues.find((q: any) => q.name === 'adm');
  assert.equal([adm.ready, adm.in_flight, adm.dead], [2, 0, 1]);
  assert.ok(list.body.queues.every((q: any) => q.name !== 'never-used'), 'a queue only looked at is not listed');
  const p = await call(s.url, 'DELETE', '/v1/queues/adm/items');
  assert.equal(p.body, { purged: 2, dead_purged: 0 });
  assert.equal((await call(s.url, 'POST', '/v1/queues/adm/ack', { ids })).body.acked, []);
  const p2 = await call(s.url, 'DELETE', '/v1/queues/adm/items?dead=true');
  assert.equal(p2.body, { purged: 0, dead_purged: 1 });
  const st = (await call(s.url, 'GET', '/v1/queues/adm')).body;
  assert.equal([st.ready, st.in_flight, st.dead], [0, 0, 0]);
});

test('bad input answers 4xx with a message and the server keeps serving', async () => {
  const bad: Array<[string, string, unknown, string?]> = [
    ['POST', '/v1/queues/b/items', ''],
    ['POST', '/v1/queues/b/items', '{not json'],
    ['POST', '/v1/queues/b/items', '[]'],
    ['POST', '/v1/queues/b/items', '1\n{x', 'application/x-ndjson'],
    ['POST', '/v1/queues/b/items', JSON.stringify(Array.from({ length: 129 }, (_, i) => i))],
    ['POST', '/v1/queues/b%2Fc/items', '1'],
    ['POST', `/v1/queues/${'n'.repeat(129)}/items`, '1'],
    ['POST', '/v1/queues/b/take?max=0', undefined],
    ['POST', '/v1/queues/b/take?max=abc', undefined],
    ['POST', '/v1/queues/b/take?max=100000', undefined],
    ['POST', '/v1/queues/b/take?wait=forever', undefined],
    ['POST', '/v1/queues/b/take?wait=2m', undefined],
    ['POST', '/v1/queues/b/take?visibility_ms=0', undefined],
    ['POST', '/v1/queues/b/ack', ''],
    ['POST', '/v1/queues/b/ack', '[]'],
    ['POST', '/v1/queues/b/ack', '{"ids":[]}'],
    ['POST', '/v1/queues/b/ack', '{"ids":["nope"]}'],
    ['POST', '/v1/queues/b/ack', '{"ids":[12]}'],
    ['POST', '/v1/queues/b/nack', '{"ids":["0000000000000001"],"delay_ms":-1}'],
    ['POST', '/v1/queues/b/extend', '{"ids":["0000000000000001"]}'],
    ['POST', '/v1/queues/b/extend', '{"ids":["0000000000000001"],"ms":"5"}'],
    ['PUT', '/v1/queues/b', '{"max_attempts":0}'],
    ['PUT', '/v1/queues/b', '{"visibility_ms":1.5}'],
    ['PUT', '/v1/queues/b', '{"colour":"red"}'],
    ['PUT', '/v1/queues/b', '{"backoff_min_ms":5000,"backoff_max_ms":10}'],
    ['PUT', '/v1/queues/b', '[1]'],
    ['DELETE', '/v1/queues/b/items?dead=maybe', undefined],
  ];
  for (const [method, path, body, type] of bad) {
    const r = await call(s.url, method, path, body, type);
    assert.ok(r.status >= 400 && r.status < 500, `${method} ${path} ${String(body).slice(0, 40)} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.ok(typeof r.body.message === 'string' && r.body.message.length > 0, `${path}: a message`);
  }
  const ok = await call(s.url, 'GET', '/v1/queues/b');
  assert.is(ok.status, 200);
  assert.equal([ok.body.ready, ok.body.in_flight], [0, 0], 'no bad request changed anything');
});

test('a batch is one revision; the queue is watchable keys under /queues/{name}/', async () => {
  const r = await call(s.url, 'POST', '/v1/queues/keys/items', [1, 2, 3]);
  const listing = await call(s.url, 'GET', '/v1/kv/%2Fqueues/keys/items/?prefix');
  assert.is(listing.body.count, 3);
  for (const kv of listing.body.kvs) assert.is(Number(kv.create_revision), r.body.revision);
});

test('an item or batch too large for one txn is refused up front; other work is not disturbed', async () => {
  const big = 'x'.repeat(1024 * 1024 + 512 * 1024 - 1000);
  const one = await call(s.url, 'POST', '/v1/queues/big/items', JSON.stringify(big));
  assert.is(one.status, 400, JSON.stringify(one.body).slice(0, 200));
  assert.match(one.body.message, /at most/);
  const batch = await call(s.url, 'POST', '/v1/queues/big/items', JSON.stringify(Array.from({ length: 4 }, () => 'y'.repeat(500_000))));
  assert.is(batch.status, 400);
  assert.match(batch.body.message, /fewer items/);
  const ok = await call(s.url, 'POST', '/v1/queues/big/items', JSON.stringify(Array.from({ length: 2 }, () => 'z'.repeat(500_000))));
  assert.is(ok.status, 200, JSON.stringify(ok.body).slice(0, 200));
  const t = await call(s.url, 'POST', '/v1/queues/big/take?max=2');
  assert.is(t.body.items.length, 2, 'two big deliveries split over txns within the byte limit');
  assert.is((await call(s.url, 'POST', '/v1/queues/big/ack', { ids: t.body.items.map((i: any) => i.id) })).body.acked.length, 2);
});

test('/metrics shows queue gauges', async () => {
  await enqueue(s.url, 'metered', [1, 2]);
  const text = await (await fetch(`${s.url}/metrics`)).text();
  assert.match(text, /watchkv_queue_items\{queue="metered",state="ready"\} 2/);
  assert.match(text, /watchkv_queue_consumers\{queue="metered"\} 0/);
});

test.run();
