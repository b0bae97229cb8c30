/**
 * watchkv's latest-value delivery and lag notices through the engine, and a seeded randomised
 * run mixing every mode with stalls and compactions (TEST_SEED=<n> replays one run).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RevisionChanges } from '../../src/mvcc/kv.ts';
import type { KvStore } from '../../src/mvcc/kv-store.ts';
import type { WatchCreateRequest } from '../../src/watch/watch-api.ts';
import { openEngine, sleep, TestClient, until } from '../support/watch-harness.ts';
import { Rng, testSeed } from '../support/rng.ts';
import { validateComplete, validateLatest } from '../support/watch-validator.ts';

const b = (s: string) => Buffer.from(s, 'latin1');
const prefix = { key: b('p/'), rangeEnd: b('p0') };

function recordHistory(kv: KvStore): RevisionChanges[] {
  const h: RevisionChanges[] = [];
  kv.onCommit((revision, events) => void h.push({ revision, events: [...events] }));
  return h;
}

test('latest: a stalled watcher holds one event per key, then one batch converges to the exact state', async () => {
  const { engine, kv, close } = await openEngine();
  const history = recordHistory(kv);
  const c = new TestClient(engine);
  c.watch({ ...prefix, delivery: 'latest' });
  c.watch({ ...prefix }); // exact mode beside it keeps every event
  await kv.put({ key: b('p/0'), value: b('first') });
  await until(() => c.watchers.get(0)!.responses.length === 2 && c.watchers.get(1)!.responses.length === 2);
  c.stalled = true;
  for (let i = 0; i < 200; i++) await kv.put({ key: b(`p/${i % 5}`), value: b(`v${i}`) });
  await kv.deleteRange({ key: b('p/3') });
  const s = engine.stats();
  assert.is(s.coalescing, 1, 'the latest watcher coalesces');
  assert.is(s.victims, 1, 'the exact watcher is a victim');
  assert.ok(s.pendingEvents <= 5 + 1, `latest map bounded by keys (pending ${s.pendingEvents})`);
  c.stalled = false;
  c.drain();
  const final = engine.currentRevision();
  await until(() => validateComplete(history, c.watchers.get(1)!, final).length === 0 && validateLatest(history, c.watchers.get(0)!, final).length === 0, 3000, 'both converge').catch(() => {});
  assert.equal(validateLatest(history, c.watchers.get(0)!, final), []);
  assert.equal(validateComplete(history, c.watchers.get(1)!, final), []);
  const batches = c.watchers.get(0)!.responses.filter((r) => r.events.length);
  assert.is(batches.length, 2, 'one live event, then one compact batch');
  assert.is(batches[1]!.events.length, 5, 'each key once (p/3 as a DELETE)');
  assert.is(batches[1]!.events.find((e) => e.kv.key.toString() === 'p/3')!.type, 'DELETE');
  await close();
});

test('latest: stalled watchers share one table — held events bounded by keys, not keys x watchers', async () => {
  const { engine, kv, close } = await openEngine();
  const history = recordHistory(kv);
  const clients = Array.from({ length: 20 }, () => new TestClient(engine));
  // Half on the whole prefix, half on a sub-range: each batch is the table seen through its range.
  clients.forEach((c, i) => c.watch(i % 2 === 0 ? { ...prefix, delivery: 'latest' } : { key: b('p/1'), rangeEnd: b('p/2'), delivery: 'latest', prevKv: true }));
  await kv.put({ key: b('p/1w'), value: b('warm') }); // in both ranges
  await until(() => clients.every((c) => c.watchers.get(0)!.responses.length === 2));
  for (const c of clients) c.stalled = true;
  for (let i = 0; i < 600; i++) await kv.put({ key: b(`p/${i % 30}`), value: b(`v${i}`) });
  await kv.deleteRange({ key: b('p/15') });
  const s = engine.stats();
  assert.is(s.coalescing, 20);
  // 30 keys changed: a map per watcher would hold up to 20 x 30 = 600.
  assert.ok(s.pendingEvents <= 31, `held events bounded by the keys (pending ${s.pendingEvents})`);
  for (const c of clients) {
    c.stalled = false;
    c.drain();
  }
  const final = engine.currentRevision();
  const errors = (): string[] => clients.flatMap((c, i) => validateLatest(history, c.watchers.get(0)!, final).map((e) => `client ${i}: ${e}`));
  await until(() => errors().length === 0, 3000, 'convergence').catch(() => {});
  assert.equal(errors(), []);
  const sub = clients[1]!.watchers.get(0)!.responses.filter((r) => r.events.length).pop()!;
  assert.ok(sub.events.every((e) => e.kv.key.toString() >= 'p/1' && e.kv.key.toString() < 'p/2'), 'a sub-range watcher gets only its range');
  assert.is(sub.events.find((e) => e.kv.key.toString() === 'p/15')!.type, 'DELETE');
  // Nobody lags any more: the table is emptied on the next sync tick.
  await until(() => engine.stats().pendingEvents === 0, 3000, 'table pruned');
  await close();
});

test('latest: a progress request waits for the batch, so a bookmark never passes undelivered state', async () => {
  const { engine, kv, close } = await openEngine();
  const history = recordHistory(kv);
  const c = new TestClient(engine);
  c.watch({ ...prefix, delivery: 'latest' });
  await until(() => c.all.length === 1);
  c.stalled = true;
  for (let i = 0; i < 20; i++) await kv.put({ key: b(`p/${i % 3}`), value: b(`v${i}`) });
  c.stream.requestProgress();
  c.stalled = false;
  c.drain();
  await until(() => c.watchers.get(0)!.responses.some((r) => r.events.length === 0 && !r.created), 3000, 'bookmark');
  assert.equal(validateLatest(history, c.watchers.get(0)!, engine.currentRevision()), []);
  await close();
});

test('lag notices: a stalled watcher past the revision threshold hears how far behind it is; a reader does not', async () => {
  const { engine, kv, close } = await openEngine({ syncIntervalMs: 5 });
  const c = new TestClient(engine);
  const lagNotify = { afterMs: 60_000, behindRevisions: 10 };
  c.watch({ ...prefix, lagNotify });
  c.watch({ ...prefix, lagNotify, delivery: 'latest' });
  const reader = new TestClient(engine);
  reader.watch({ ...prefix, lagNotify });
  await kv.put({ key: b('p/x'), value: b('1') });
  await until(() => c.watchers.get(0)!.responses.length === 2);
  c.stalled = true;
  for (let i = 0; i < 15; i++) await kv.put({ key: b(`p/${i}`), value: b('x') });
  await until(() => c.all.filter((r) => r.lagging).length >= 2, 3000, 'notices');
  for (const id of [0, 1]) {
    const n = c.watchers.get(id)!.responses.find((r) => r.lagging)!;
    assert.ok(n.lagging!.behindRevisions >= 10, `watcher ${id} behind ${n.lagging!.behindRevisions}`);
    assert.ok(n.lagging!.pendingBytes > 0);
    assert.is(n.events.length, 0);
  }
  const count = c.all.filter((r) => r.lagging).length;
  await sleep(50);
  assert.is(c.all.filter((r) => r.lagging).length, count, 'once per afterMs, not every pass');
  assert.is(reader.all.some((r) => r.lagging), false, 'a reading watcher is never lagging');
  await close();
});

for (const round of [0, 1, 2]) {
  test(`randomised: every mode under stalls and compactions (round ${round})`, async () => {
    const seed = testSeed();
    const rng = new Rng(seed);
    const { engine, kv, close } = await openEngine({ watchSnapshotPageKeys: rng.int(1, 4), syncMaxRevisionsPerPass: rng.int(2, 9), watchHistoryBytes: rng.pick([200, 1 << 20]) });
    const history = recordHistory(kv);
    const keys = ['p/a', 'p/b', 'p/c', 'p/d', 'q'];
    const clients = [new TestClient(engine), new TestClient(engine), new TestClient(engine)];
    const latest = new Set<string>();
    let compacted = 0;
    try {
      for (let step = 0; step < 120; step++) {
        const op = rng.int(0, 19);
        if (op < 10) await kv.put({ key: b(rng.pick(keys)), value: b(`${step}`) });
        else if (op < 12) await kv.deleteRange({ key: b(rng.pick(keys)) });
        else if (op < 14) {
          const c = rng.pick(clients);
          c.stalled = !c.stalled;
          if (!c.stalled) c.drain();
        } else if (op < 15 && engine.currentRevision() > compacted + 2) {
          compacted = rng.int(compacted + 1, engine.currentRevision());
          await kv.compact(compacted);
        } else if (op < 17) {
          const ci = rng.int(0, clients.length - 1);
          const c = clients[ci]!;
          const mode = rng.int(0, 3);
          const req: Partial<WatchCreateRequest> & { key: Buffer } = { ...prefix, prevKv: rng.chance(0.5) };
          if (mode === 1) req.initialState = true;
          if (mode === 2) {
            req.startRevision = rng.int(2, engine.currentRevision() + 1);
            req.onCompacted = 'resync';
          }
          if (mode === 3) {
            req.delivery = 'latest';
            req.initialState = rng.chance(0.5);
          }
          if (rng.chance(0.3)) req.lagNotify = { afterMs: 1, behindRevisions: 2 };
          if (mode === 3) latest.add(`${ci}:${c.stream.size()}`);
          c.watch(req);
        } else await sleep(rng.int(0, 3));
      }
      for (const c of clients) {
        c.stalled = false;
        c.drain();
      }
      const final = engine.currentRevision();
      const check = (): string[] =>
        clients.flatMap((c, ci) =>
          [...c.watchers].flatMap(([id, w]) => {
            const errs = latest.has(`${ci}:${id}`) ? validateLatest(history, w, final) : validateComplete(history, w, final, compacted);
            return errs.map((e) => `client ${ci} watcher ${id}${latest.has(`${ci}:${id}`) ? ' (latest)' : ''}: ${e}`);
          }),
        );
      await until(() => check().length === 0, 4000, 'convergence').catch(() => {});
      assert.equal(check(), [], `seed ${seed} (TEST_SEED=${seed} replays)`);
    } finally {
      await close();
    }
  });
}

test.run();
