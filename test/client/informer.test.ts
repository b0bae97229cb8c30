/**
 * The informer against a real server, randomised (seeded; TEST_SEED replays): its cache equals a
 * fresh range after live writes, after a cut network with a compaction (forcing a relist), and
 * after a long disconnect; and the changes it emitted, replayed onto the cache it had before,
 * give the cache it has after — the consumer's view converges with no gap.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer } from '../support/test-server.ts';
import { Rng, testSeed } from '../support/rng.ts';
import { WatchKvClient, op, type Informer, type InformerChange, type KeyValue } from '../../src/client/node.ts';
import { startTcpProxy, until } from './support/tcp-proxy.ts';

type View = Map<string, string>; // key → value@modRevision

function view(kvs: KeyValue[]): View {
  return new Map(kvs.map((kv) => [kv.key, `${kv.value}@${kv.modRevision}`]));
}

function replay(start: View, changes: InformerChange[]): View {
  const v = new Map(start);
  for (const ch of changes) {
    if (ch.type === 'delete') v.delete(ch.kv.key);
    else v.set(ch.kv.key, `${ch.kv.value}@${ch.kv.modRevision}`);
  }
  return v;
}

async function randomWrites(c: WatchKvClient, rng: Rng, n: number): Promise<number> {
  for (let i = 0; i < n; i++) {
    const k = `/inf/${rng.int(0, 30)}`;
    const r = rng.next();
    if (r < 0.55) await c.put(k, `v${rng.int(0, 1e6)}`);
    else if (r < 0.75) await c.delete(k);
    else if (r < 0.85) await c.put(`/outside/${rng.int(0, 5)}`, 'x');
    else if (r < 0.95) await c.txn().then(op.put(k, 'txn-a'), op.delete(`/inf/${rng.int(31, 40)}`), op.put(`/inf/${rng.int(41, 50)}`, 'txn-b')).commit();
    else await c.delete(`/inf/${rng.int(0, 3)}`, { prefix: true });
  }
  // End inside the prefix, so the informer's revision reaches the last write through an event.
  return (await c.put(`/inf/${rng.int(0, 30)}`, 'last')).revision;
}

async function assertEqualsRange(inf: Informer, c: WatchKvClient, atLeast: number): Promise<void> {
  await until(() => inf.revision >= atLeast, `informer at revision ${atLeast} (is at ${inf.revision})`);
  const fresh = await c.range('/inf/', { prefix: true, revision: inf.revision });
  assert.equal(view(inf.list()), view(fresh.kvs));
}

test('informer: live, after compaction + disconnect (relist), after a long disconnect', async () => {
  const seed = testSeed();
  const rng = new Rng(seed);
  const s = await startTestServer({}, { memory: true });
  const proxy = await startTcpProxy(Number(new URL(s.url).port));
  const c = new WatchKvClient({ endpoints: [proxy.url], backoff: { initialMs: 20, maxMs: 200 }, heartbeatMs: 0 });
  const direct = new WatchKvClient({ endpoints: [s.url] });
  try {
    await randomWrites(direct, rng, 40);
    const inf = c.informer('/inf/', { pageSize: 7 });
    const changes: InformerChange[] = [];
    const relists: string[] = [];
    inf.on('change', (ch) => changes.push(ch));
    inf.on('relist', (r) => relists.push(r.reason));
    await inf.synced();
    assert.ok(changes.every((ch) => ch.type === 'add' && ch.synthetic));
    assert.equal(replay(new Map(), changes), view(inf.list()));
    await assertEqualsRange(inf, direct, 0);

    for (let round = 0; round < 4; round++) {
      // Live writes.
      let rev = await randomWrites(direct, rng, 30);
      await assertEqualsRange(inf, direct, rev);
      // Cut, write, compact everything, restore: the resume point is gone → relist and diff.
      const before = view(inf.list());
      const from = changes.length;
      const lists = inf.lists;
      proxy.cut();
      rev = await randomWrites(direct, rng, 30);
      await direct.compact(rev);
      proxy.restore();
      await until(() => inf.lists > lists, 'a relist');
      await assertEqualsRange(inf, direct, rev);
      const after = changes.slice(from);
      assert.equal(replay(before, after), view(inf.list()), `seed ${seed}: replayed changes give the new cache`);
      assert.ok(after.every((ch) => ch.synthetic));
    }
    assert.ok(relists.filter((r) => r === 'compacted').length >= 4, `relists: ${relists.join(', ')} (seed ${seed})`);
    inf.close();

    // A disconnect longer than relistAfterDisconnectMs relists even when history is still there.
    const inf2 = c.informer('/inf/', { relistAfterDisconnectMs: 0 });
    const reasons: string[] = [];
    inf2.on('relist', (r) => reasons.push(r.reason));
    await inf2.synced();
    proxy.cut();
    const rev = await randomWrites(direct, rng, 10);
    await new Promise((r) => setTimeout(r, 5));
    proxy.restore();
    await until(() => reasons.includes('long disconnect'), 'a relist after the long disconnect');
    await assertEqualsRange(inf2, direct, rev);
    inf2.close();
  } catch (e) {
    console.error(`informer test failed with TEST_SEED=${seed}`);
    throw e;
  } finally {
    c.close();
    await proxy.close();
    await s.stop();
  }
});

test('informer get, size and revision follow single changes', async () => {
  const s = await startTestServer({}, { memory: true });
  const c = new WatchKvClient({ endpoints: [s.url] });
  try {
    await c.put('/one/a', '1');
    const inf = c.informer('/one/');
    await inf.start();
    assert.is(inf.get('/one/a')?.value, '1');
    const seen: string[] = [];
    inf.on('change', (ch) => seen.push(`${ch.type} ${ch.kv.key} ${ch.kv.value} ${ch.prevKv?.value ?? '-'}`));
    const p = await c.put('/one/a', '2');
    await c.put('/one/b', '3');
    const d = await c.delete('/one/a');
    await until(() => inf.revision === d.revision, 'the delete');
    assert.equal(seen, ['update /one/a 2 1', 'add /one/b 3 -', 'delete /one/a 2 2']);
    assert.is(inf.size, 1);
    assert.is(inf.get('/one/a'), undefined);
    assert.ok(p.revision < d.revision);
    inf.close();
  } finally {
    c.close();
    await s.stop();
  }
});

test.run();
