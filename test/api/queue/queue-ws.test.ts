/**
 * WebSocket consume end to end: credit is respected, round-robin among consumers with credit,
 * acks/nacks/extends answered, the visibility deadline redelivers (with an `expired` notice),
 * a disconnect returns in-flight items at once, and bad frames get error frames.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/test-server.ts';
import { call, enqueue, sleep, WsConsumer } from './queue-client.ts';

let s: TestServer;
test.before(async () => {
  s = await startTestServer({}, { memory: true });
});
test.after(async () => s.stop());

test('credit is respected: never more deliveries than credit given', async () => {
  await enqueue(s.url, 'credit', Array.from({ length: 10 }, (_, i) => i));
  const c = await WsConsumer.open(s.url, 'credit');
  await sleep(100);
  assert.is(c.deliveries.length, 0, 'no credit, no delivery');
  c.send({ credit: 3 });
  await c.waitDeliveries(3);
  await sleep(150);
  assert.is(c.deliveries.length, 3);
  assert.equal(c.deliveries.map((d) => d.value), [0, 1, 2], 'FIFO');
  // Acking does not give credit back: credit is demand (GenStage/Broadway), not a window.
  c.send({ ack: c.deliveries.map((d) => d.id) });
  await c.waitFor((f) => f.acked?.length === 3);
  await sleep(100);
  assert.is(c.deliveries.length, 3);
  c.send({ credit: 100 });
  await c.waitDeliveries(10);
  await sleep(100);
  assert.is(c.deliveries.length, 10);
  c.send({ ack: c.deliveries.slice(3).map((d) => d.id) });
  await c.waitFor((f) => f.acked?.length === 7);
  await c.close();
  const st = (await call(s.url, 'GET', '/v1/queues/credit')).body;
  assert.equal([st.ready, st.in_flight], [0, 0]);
});

test('round-robin among consumers with credit', async () => {
  const cs = await Promise.all([0, 1, 2].map(() => WsConsumer.open(s.url, 'rr')));
  for (const c of cs) c.send({ credit: 100 });
  await sleep(100);
  await enqueue(s.url, 'rr', Array.from({ length: 30 }, (_, i) => i));
  await Promise.all(cs.map((c) => c.waitDeliveries(10)));
  assert.equal(cs.map((c) => c.deliveries.length), [10, 10, 10]);
  const all = cs.flatMap((c) => c.deliveries.map((d) => d.value)).sort((a, b) => a - b);
  assert.equal(all, Array.from({ length: 30 }, (_, i) => i), 'each item to exactly one consumer');
  for (const c of cs) await c.close();
});

test('a consumer without credit is skipped; the others get everything', async () => {
  const idle = await WsConsumer.open(s.url, 'skip');
  const busy = await WsConsumer.open(s.url, 'skip');
  busy.send({ credit: 5 });
  await enqueue(s.url, 'skip', [1, 2, 3, 4, 5]);
  await busy.waitDeliveries(5);
  assert.is(idle.deliveries.length, 0);
  await idle.close();
  await busy.close();
});

test('disconnect returns in-flight items at once to another consumer (attempt 2)', async () => {
  await call(s.url, 'PUT', '/v1/queues/disc', { backoff_min_ms: 60_000, backoff_max_ms: 60_000 });
  const a = await WsConsumer.open(s.url, 'disc');
  a.send({ credit: 2 });
  const ids = await enqueue(s.url, 'disc', ['p', 'q']);
  await a.waitDeliveries(2);
  const b = await WsConsumer.open(s.url, 'disc');
  b.send({ credit: 2 });
  await sleep(50);
  assert.is(b.deliveries.length, 0, 'held by a');
  a.terminate();
  const got = await b.waitDeliveries(2, 3000);
  assert.equal(got.map((d) => d.id).sort(), ids);
  assert.equal(got.map((d) => d.attempt), [2, 2]);
  b.send({ ack: ids });
  await b.waitFor((f) => f.acked);
  await b.close();
});

test('visibility deadline: expired notice, redelivery; extend keeps it; nack with delay_ms', async () => {
  await call(s.url, 'PUT', '/v1/queues/dl', { visibility_ms: 500, backoff_min_ms: 1, backoff_max_ms: 10 });
  const a = await WsConsumer.open(s.url, 'dl');
  a.send({ credit: 1 });
  const [id] = await enqueue(s.url, 'dl', ['slow']);
  const [d1] = await a.waitDeliveries(1);
  assert.ok(d1.deadline_ms - Date.now() <= 500);
  a.send({ extend: id, ms: 1200 });
  await a.waitFor((f) => f.extended);
  await sleep(700);
  assert.ok(!a.frames.some((f) => f.expired), 'extended past the first deadline');
  await a.waitFor((f) => f.expired === id, 3000);
  a.send({ credit: 1 });
  const [, d2] = await a.waitDeliveries(2, 3000);
  assert.is(d2.id, id);
  assert.is(d2.attempt, 2);
  const t = Date.now();
  a.send({ nack: id, delay_ms: 300 });
  await a.waitFor((f) => f.nacked);
  a.send({ credit: 1 });
  const [, , d3] = await a.waitDeliveries(3, 3000);
  assert.ok(Date.now() - t >= 290, 'nack delay respected');
  assert.is(d3.attempt, 3);
  a.send({ ack: id });
  await a.waitFor((f) => f.acked);
  await a.close();
});

test('dead letter after max_attempts', async () => {
  await call(s.url, 'PUT', '/v1/queues/poison', { max_attempts: 3, backoff_min_ms: 1, backoff_max_ms: 5 });
  const a = await WsConsumer.open(s.url, 'poison');
  a.onFrame = (f) => {
    if (f.deliver) a.send({ nack: f.deliver.id });
  };
  a.send({ credit: 10 });
  const [id] = await enqueue(s.url, 'poison', ['bad']);
  await a.waitDeliveries(3);
  await sleep(150);
  assert.is(a.deliveries.length, 3, 'no fourth delivery');
  const st = (await call(s.url, 'GET', '/v1/queues/poison')).body;
  assert.equal([st.ready, st.in_flight, st.dead], [0, 0, 1]);
  const dead = await call(s.url, 'GET', `/v1/kv/%2Fqueues/poison/dead/${id}`);
  assert.is(JSON.parse(dead.body.value).history.length, 3);
  await a.close();
});

test('nack/extend only for items this consumer holds; acks of unknown ids are reported', async () => {
  const a = await WsConsumer.open(s.url, 'own');
  const b = await WsConsumer.open(s.url, 'own');
  a.send({ credit: 1 });
  const [id] = await enqueue(s.url, 'own', ['mine']);
  await a.waitDeliveries(1);
  b.send({ nack: id });
  await b.waitFor((f) => f.not_found && f.op === 'nack');
  b.send({ extend: id, ms: 10 });
  await b.waitFor((f) => f.not_found && f.op === 'extend');
  b.send({ ack: '0000000000000001' });
  await b.waitFor((f) => f.not_found && f.op === 'ack');
  a.send({ ack: id });
  await a.waitFor((f) => f.acked);
  await a.close();
  await b.close();
});

test('bad frames get error frames; the socket and server stay up', async () => {
  const c = await WsConsumer.open(s.url, 'frames');
  const bad = ['not json', '[1]', 'null', '{}', '{"credit":0}', '{"credit":-5}', '{"credit":1.5}', '{"credit":"3"}', '{"credit":20000}', '{"ack":[]}', '{"ack":"x"}', '{"nack":"1","delay_ms":1}', '{"extend":"0000000000000001"}', '{"ack":"0000000000000001","credit":1}', '{"bogus":1}'];
  for (const f of bad) c.send(f);
  await c.waitFor(() => c.frames.filter((f) => f.error).length === bad.length, 3000);
  for (const f of c.frames) assert.ok(typeof f.error?.message === 'string' && f.error.code === 3, JSON.stringify(f));
  c.send({ credit: 1 });
  await enqueue(s.url, 'frames', ['still works']);
  await c.waitDeliveries(1);
  await c.close();
  const r = await WsConsumer.open(s.url, 'bad%20name').catch((e) => e);
  if (r instanceof WsConsumer) {
    await r.waitFor((f) => f.error);
    assert.ok(r.frames[0].error.message.includes('invalid queue name'));
  }
});

test.run();
