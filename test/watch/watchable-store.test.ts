import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ERROR_MESSAGES } from '../../src/errors.ts';
import type { RequestOp, RevisionChanges } from '../../src/mvcc/kv.ts';
import { openEngine, sleep, TestClient, until } from '../support/watch-harness.ts';
import { Rng, testSeed } from '../support/rng.ts';
import { validateComplete, validateWatcher } from '../support/watch-validator.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

test('create: auto ids from 0, client ids, duplicate id and empty range fail in-band, cancel', async () => {
  const { engine, kv, close } = await openEngine();
  const c = new TestClient(engine);
  c.watch({ key: b('a') });
  c.watch({ key: b('a'), watchId: 42 });
  c.watch({ key: b('a'), watchId: 42 });
  c.watch({ key: b('b'), rangeEnd: b('a') });
  c.watch({ key: b('a'), watchId: -5 });
  assert.equal(
    c.all.map((r) => [r.watchId, r.created, r.canceled ?? false, r.cancelReason ?? '']),
    [
      [0, true, false, ''],
      [42, true, false, ''],
      [-1, true, true, ERROR_MESSAGES.ERR_WATCH_DUPLICATE_ID],
      [-1, true, true, ERROR_MESSAGES.ERR_WATCH_EMPTY_RANGE],
      [-5, true, false, ''],
    ],
  );
  c.stream.cancel(42);
  c.stream.cancel(42);
  assert.equal(c.all.slice(-2).map((r) => [r.watchId, r.canceled, r.cancelReason ?? '']), [
    [42, true, ''],
    [42, true, ERROR_MESSAGES.ERR_WATCH_UNKNOWN_ID],
  ]);
  await kv.put({ key: b('a'), value: b('1') });
  await until(() => c.watchers.get(0)!.responses.length === 2);
  assert.is(c.watchers.get(42)!.responses.filter((r) => r.events.length).length, 0, 'cancelled watcher gets nothing');
  await close();
});

test('a watcher waiting for a future start revision keeps waiting after a progress notice', async () => {
  const { engine, kv, close } = await openEngine();
  const c = new TestClient(engine);
  await kv.put({ key: b('old'), value: b('x') });
  const start = engine.currentRevision() + 3;
  c.watch({ key: b('f') });
  c.watch({ key: b('f'), startRevision: start });
  // A watcher still owing history makes the stream answer each watcher on its own.
  c.watch({ key: b('old'), startRevision: 1 });
  c.stream.requestProgress();
  await kv.put({ key: b('f'), value: b('early') });
  await kv.put({ key: b('f'), value: b('early2') });
  await kv.put({ key: b('f'), value: b('on time') });
  await until(() => c.watchers.get(0)!.responses.filter((r) => r.events.length).length === 3);
  const events = c.watchers.get(1)!.responses.flatMap((r) => r.events);
  assert.equal(events.map((e) => [e.kv.modRevision, e.kv.value.toString()]), [[start, 'on time']]);
  await close();
});

test('single key, prefix, from-key and all-keys watchers see exactly their events; prev_kv and filters', async () => {
  const { engine, kv, close } = await openEngine();
  const c = new TestClient(engine);
  c.watch({ key: b('k') , prevKv: true });
  c.watch({ key: b('k'), rangeEnd: b('l'), noDelete: true });
  c.watch({ key: b('m'), rangeEnd: Buffer.of(0), noPut: true });
  c.watch({ key: b('\0'), rangeEnd: Buffer.of(0), prevKv: true });
  await kv.put({ key: b('k'), value: b('1') });
  await kv.put({ key: b('k'), value: b('2') });
  await kv.txn({ compare: [], success: [{ put: { key: b('ka'), value: b('x') } }, { put: { key: b('z'), value: b('y') } }], failure: [] });
  await kv.deleteRange({ key: b('a'), rangeEnd: Buffer.from([0]) });
  const history = await kv.history(2, 100, { withPrevKv: true });
  await until(() => [...c.watchers.values()].every((w) => validateComplete(history, w, engine.currentRevision()).length === 0), 3000, 'complete').catch(() => {});
  for (const [id, w] of c.watchers) assert.equal(validateComplete(history, w, engine.currentRevision()), [], `watcher ${id}`);
  const keyWatch = c.watchers.get(0)!.responses.filter((r) => r.events.length);
  assert.is(keyWatch[1]!.events[0]!.prevKv?.value.toString(), '1');
  assert.is(c.watchers.get(2)!.responses.flatMap((r) => r.events).every((e) => e.type === 'DELETE'), true);
  const txnResp = c.watchers.get(3)!.responses.find((r) => r.revision === 4 && r.events.length)!;
  assert.is(txnResp.events.length, 2, 'one response per revision, both events');
  await close();
});

test('history replay from a past revision, future start waits, compacted start is cancelled', async () => {
  const { engine, kv, close } = await openEngine();
  for (let i = 0; i < 10; i++) await kv.put({ key: b('h'), value: b(String(i)) }); // revs 2..11
  await kv.compact(5);
  const c = new TestClient(engine);
  c.watch({ key: b('h'), startRevision: 6, prevKv: true });
  c.watch({ key: b('h'), startRevision: 14 });
  c.watch({ key: b('h'), startRevision: 3 });
  c.watch({ key: b('h'), startRevision: -1 });
  await until(() => c.watchers.get(0)!.responses.some((r) => r.events.length > 0));
  for (let i = 10; i < 14; i++) await kv.put({ key: b('h'), value: b(String(i)) }); // 12..15
  const history = await kv.history(6, 100, { withPrevKv: true });
  await until(() => c.watchers.get(1)!.responses.some((r) => r.events.length > 0));
  await sleep(30);
  const all = [{ revision: 2, events: [] }, ...history];
  assert.equal(validateComplete(all, c.watchers.get(0)!, 15), []);
  assert.equal(validateComplete(all, c.watchers.get(1)!, 15), []);
  assert.equal(c.watchers.get(1)!.responses.flatMap((r) => r.events).map((e) => e.kv.modRevision), [14, 15]);
  const compacted = c.watchers.get(2)!.responses;
  assert.equal([compacted[0]!.created, compacted[1]?.canceled, compacted[1]?.compactRevision, compacted[1]?.revision], [true, true, 5, 0]);
  const negative = c.watchers.get(3)!.responses;
  assert.equal([negative[0]!.created, negative[1]?.canceled, negative[1]?.compactRevision, negative[1]?.cancelReason], [true, true, 5, undefined], 'a negative start is compacted once anything is');
  await close();
});

test('a negative start on a never-compacted store, as etcd 3.4: -1 is from now, below -1 compacted at -1', async () => {
  const { engine, kv, close } = await openEngine();
  await kv.put({ key: b('n'), value: b('old') }); // rev 2
  const c = new TestClient(engine);
  c.watch({ key: b('n'), startRevision: -1 });
  c.watch({ key: b('n'), startRevision: -5 });
  await until(() => c.watchers.get(1)!.responses.length >= 2);
  await kv.put({ key: b('n'), value: b('new') }); // rev 3
  await until(() => c.watchers.get(0)!.responses.some((r) => r.events.length > 0));
  await sleep(30);
  const fromNow = c.watchers.get(0)!.responses;
  assert.equal(fromNow.map((r) => [r.created === true, r.events.map((e) => e.kv.value.toString())]), [[true, []], [false, ['new']]]);
  const below = c.watchers.get(1)!.responses;
  assert.equal(below.map((r) => [r.created === true, r.canceled === true, r.compactRevision]), [[true, false, undefined], [false, true, -1]]);
  await close();
});

test('progress: -1 when every watcher is caught up; per watcher, after its events, when one lags', async () => {
  const { engine, kv, close } = await openEngine();
  const c = new TestClient(engine);
  c.watch({ key: b('p') });
  c.watch({ key: b('q') });
  await kv.put({ key: b('p'), value: b('1') });
  await until(() => c.watchers.get(0)!.responses.length === 2);
  c.stream.requestProgress();
  assert.equal([c.all.at(-1)!.watchId, c.all.at(-1)!.revision], [-1, 2]);
  // A second stream with one slow watcher: the fast one still gets its bookmark at once.
  const d = new TestClient(engine);
  d.watch({ key: b('p'), startRevision: 1 }); // owes history → unsynced first
  d.watch({ key: b('q') });
  d.stream.requestProgress();
  const fast = d.watchers.get(1)!.responses;
  assert.equal([fast.at(-1)!.watchId, fast.at(-1)!.events.length], [1, 0], 'fast watcher answered immediately');
  await until(() => d.watchers.get(0)!.responses.some((r) => r.events.length === 0 && !r.created));
  const slow = d.watchers.get(0)!.responses;
  assert.ok(slow.findIndex((r) => r.events.length > 0) < slow.findIndex((r) => !r.created && r.events.length === 0), 'bookmark after events');
  assert.equal(validateWatcher(await kv.history(2, 10, { withPrevKv: true }), d.watchers.get(0)!), []);
  await close();
});

test('periodic progress_notify only after a quiet interval', async () => {
  const { engine, close } = await openEngine({ progressNotifyIntervalMs: 100 });
  const c = new TestClient(engine);
  c.watch({ key: b('n'), progressNotify: true });
  c.watch({ key: b('o') });
  await until(() => c.watchers.get(0)!.responses.length >= 2, 2000, 'a notification');
  const n = c.watchers.get(0)!.responses[1]!;
  assert.equal([n.watchId, n.events.length, n.revision], [0, 0, 1]);
  assert.is(c.watchers.get(1)!.responses.length, 1, 'no notifications for a watcher that did not ask');
  await close();
});

test('fragment splits a large response; every part but the last says so', async () => {
  const { engine, kv, close } = await openEngine({ watchFragmentBytes: 3000 });
  const big = Buffer.alloc(1500, 'x');
  await kv.txn({ compare: [], success: ['a', 'b', 'c'].map((k): RequestOp => ({ put: { key: b(`f/${k}`), value: big } })), failure: [] });
  const c = new TestClient(engine);
  c.watch({ key: b('f/'), rangeEnd: b('f0'), startRevision: 2, fragment: true });
  c.watch({ key: b('f/'), rangeEnd: b('f0'), startRevision: 2 });
  await until(() => c.watchers.get(1)!.responses.length === 2);
  await until(() => c.watchers.get(0)!.responses.filter((r) => !r.fragment).length === 2);
  const parts = c.watchers.get(0)!.responses.slice(1);
  assert.ok(parts.length >= 2);
  assert.ok(parts.slice(0, -1).every((p) => p.fragment) && !parts.at(-1)!.fragment);
  assert.is(parts.reduce((n, p) => n + p.events.length, 0), 3);
  assert.is(c.watchers.get(1)!.responses[1]!.events.length, 3, 'without fragment: one response');
  await close();
});

test('a stalled watcher holds one batch while 100,000 events flow; others keep receiving', async () => {
  const { engine, kv, close } = await openEngine();
  const slow = new TestClient(engine);
  const fast = new TestClient(engine);
  slow.watch({ key: b('s/'), rangeEnd: b('s0') });
  fast.watch({ key: b('s/'), rangeEnd: b('s0') });
  slow.stalled = true;
  let maxPending = 0;
  const total = 100_000;
  const perTxn = 100;
  for (let t = 0; t < total / perTxn; t++) {
    await kv.txn({ compare: [], success: Array.from({ length: perTxn }, (_, i): RequestOp => ({ put: { key: b(`s/${i}`), value: b(String(t)) } })), failure: [] });
    maxPending = Math.max(maxPending, engine.stats().pendingEvents);
  }
  const delivered = (c: TestClient) => c.watchers.get(0)!.responses.reduce((n, r) => n + r.events.length, 0);
  assert.is(delivered(fast), total, 'the fast watcher got everything while the slow one stalled');
  assert.ok(maxPending <= perTxn, `stalled watcher held ${maxPending} events (bound: one batch of ${perTxn})`);
  assert.is(engine.stats().victims, 1);
  slow.stalled = false;
  await until(() => delivered(slow) === total, 20_000, 'catch-up');
  const history = await kv.history(2, engine.currentRevision(), { withPrevKv: true });
  assert.equal(validateComplete(history, slow.watchers.get(0)!, engine.currentRevision()), []);
  await close();
});

/**
 * Catch-up reads come from the recent history when it still holds the start revision, else from
 * the store: run with it off, tiny (reads cross its lower edge all the time) and at its default.
 */
for (const [label, watchHistoryBytes] of [['no recent history', 0], ['recent history of about 10 events', 4200], ['default recent history', undefined]] as const) {
  test(`randomized (${label}): every kind of watcher, stalls, compaction, create/cancel mid-run — validator passes`, () => randomizedRun(watchHistoryBytes));
}

async function randomizedRun(watchHistoryBytes: number | undefined): Promise<void> {
  const seed = testSeed();
  const rng = new Rng(seed);
  const { engine, kv, close } = await openEngine({ syncMaxRevisionsPerPass: 7, syncMaxWatchersPerPass: 5, ...(watchHistoryBytes === undefined ? {} : { watchHistoryBytes }) });
  // The whole history as committed (compaction later hides its start from the store).
  const fullHistory: RevisionChanges[] = [];
  kv.onCommit((revision, events) => void fullHistory.push({ revision, events: [...events] }));
  const keys = ['a', 'ab', 'abc', 'b', 'ba', 'c', 'd'];
  const clients = Array.from({ length: 4 }, () => new TestClient(engine));
  const randomWatch = (c: TestClient) => {
    const kind = rng.int(0, 4);
    const key = b(rng.pick(keys));
    const rangeEnd = kind === 0 ? undefined : kind === 1 ? b(rng.pick(keys) + 'z') : kind === 2 ? (rng.chance(0.5) ? Buffer.alloc(0) : Buffer.of(0)) : kind === 3 ? b('c') : Buffer.of(0);
    const startRevision = rng.chance(0.4) ? rng.int(1, engine.currentRevision() + 3) : 0;
    c.watch({ key: kind === 4 ? b('\0') : key, rangeEnd, startRevision, prevKv: rng.chance(0.5), noPut: rng.chance(0.1), noDelete: rng.chance(0.1), fragment: rng.chance(0.2) });
  };
  for (const c of clients) for (let i = 0; i < 6; i++) randomWatch(c);
  let compacted = 0;
  const cancelled = new Set<unknown>();
  for (let step = 0; step < 400; step++) {
    const r = rng.next();
    if (r < 0.6) {
      const ops: RequestOp[] = [];
      const used = new Set<string>();
      for (let i = rng.int(1, 3); i > 0; i--) {
        const k = rng.pick(keys);
        if (used.has(k)) continue;
        used.add(k);
        ops.push(rng.chance(0.8) ? { put: { key: b(k), value: b(`v${step}`) } } : { deleteRange: { key: b(k) } });
      }
      await kv.txn({ compare: [], success: ops, failure: [] });
    } else if (r < 0.7) {
      const c = rng.pick(clients);
      c.stalled = !c.stalled;
    } else if (r < 0.75) {
      const c = rng.pick(clients);
      c.capacity = rng.int(0, 3);
      c.drain();
    } else if (r < 0.8) {
      randomWatch(rng.pick(clients));
    } else if (r < 0.83) {
      const c = rng.pick(clients);
      const ids = [...c.watchers].filter(([id, w]) => !w.responses.some((r) => r.canceled) && !cancelled.has(w)).map(([id]) => id);
      if (ids.length) {
        const id = rng.pick(ids);
        cancelled.add(c.watchers.get(id)!);
        c.stream.cancel(id);
      }
    } else if (r < 0.85 && engine.currentRevision() > compacted + 5) {
      compacted = rng.int(compacted + 1, engine.currentRevision() - 2);
      await kv.compact(compacted);
    } else if (r < 0.9) {
      rng.pick(clients).stream.requestProgress();
    } else {
      await sleep(rng.int(0, 3));
    }
  }
  for (const c of clients) {
    c.stalled = false;
    c.capacity = 0;
    c.drain();
  }
  const current = engine.currentRevision();
  await until(() => engine.stats().victims === 0 && engine.stats().unsynced === 0, 10_000, 'quiescence');
  void current;
  let checked = 0;
  for (const c of clients) {
    for (const [id, w] of c.watchers) {
      // A cancel racing a compaction cancel still in the stream's queue gets its own answer: that
      // answers the client's request, not the watch, so it is not part of the watch's life.
      const firstCancel = w.responses.findIndex((r) => r.canceled);
      const life = { ...w, responses: w.responses.filter((r, i) => !(r.canceled && firstCancel >= 0 && i > firstCancel)) };
      const errs = validateWatcher(fullHistory, life, compacted);
      assert.equal(errs, [], `seed ${seed}: watcher ${id}`);
      checked++;
    }
  }
  assert.ok(checked > 10);
  await close();
}

test('the validator catches a dropped, a duplicated and a reordered event', async () => {
  const { engine, kv, close } = await openEngine();
  const c = new TestClient(engine);
  c.watch({ key: b('v'), rangeEnd: b('w') });
  for (let i = 0; i < 5; i++) await kv.put({ key: b(`v${i}`), value: b('x') });
  await until(() => c.watchers.get(0)!.responses.length === 6);
  const history = await kv.history(2, 10, { withPrevKv: true });
  const w = c.watchers.get(0)!;
  assert.equal(validateComplete(history, w, 6), []);
  const [created, ...evs] = w.responses;
  const variants = {
    dropped: [created!, ...evs.slice(0, 2), ...evs.slice(3)],
    duplicated: [created!, ...evs.slice(0, 3), evs[2]!, ...evs.slice(3)],
    reordered: [created!, evs[1]!, evs[0]!, ...evs.slice(2)],
  };
  for (const [name, responses] of Object.entries(variants)) {
    assert.ok(validateComplete(history, { ...w, responses }, 6).length > 0, `${name} must be caught`);
  }
  await close();
});

test.run();
