/**
 * watchkv's state transfers through the engine: initial_state (list-then-watch in one call)
 * and on_compacted "resync". Streams are checked by the watch validator, which replays the
 * history to know the range at the snapshot's revision.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RevisionChanges } from '../../src/mvcc/kv.ts';
import { openEngine, TestClient, until } from '../support/watch-harness.ts';
import { validateComplete, validateWatcher } from '../support/watch-validator.ts';

const b = (s: string) => Buffer.from(s, 'latin1');
const prefix = { key: b('p/'), rangeEnd: b('p0') };

test('initial_state: the range at R in pages, framed by markers, then every change from R+1', async () => {
  const { engine, kv, close } = await openEngine({ watchSnapshotPageKeys: 3 });
  for (let i = 0; i < 8; i++) await kv.put({ key: b(`p/${i}`), value: b(`v${i}`) });
  await kv.put({ key: b('q'), value: b('outside') });
  await kv.deleteRange({ key: b('p/3') });
  await kv.put({ key: b('p/1'), value: b('again') });
  const c = new TestClient(engine);
  c.watch({ ...prefix, initialState: true });
  // Writes while the transfer is under way land after R and arrive as changes.
  await kv.put({ key: b('p/9'), value: b('late') });
  await kv.deleteRange({ key: b('p/0') });
  const w = () => c.watchers.get(0)!;
  await until(() => w().responses.some((r) => r.snapshotDone) && w().responses.flatMap((r) => r.events).some((e) => e.type === 'DELETE'), 3000, 'transfer and changes');
  const history = await kv.history(2, engine.currentRevision(), { withPrevKv: true });
  assert.equal(validateComplete(history, w(), engine.currentRevision()), []);
  const rs = w().responses;
  assert.is(rs[1]!.snapshotStart, true, 'snapshot_start right after created');
  const done = rs.find((r) => r.snapshotDone)!;
  assert.is(done.revision, rs[0]!.revision, 'the state is at the created revision');
  const pages = rs.slice(2, rs.indexOf(done));
  assert.equal(pages.map((p) => p.events.length), [3, 3, 1], 'seven keys in pages of three');
  assert.equal(pages.flatMap((p) => p.events.map((e) => e.kv.key.toString())), ['p/0', 'p/1', 'p/2', 'p/4', 'p/5', 'p/6', 'p/7']);
  await close();
});

test('initial_state: a stalled client holds the transfer at one page; an empty range is just the markers', async () => {
  const { engine, kv, close } = await openEngine({ watchSnapshotPageKeys: 2 });
  for (let i = 0; i < 6; i++) await kv.put({ key: b(`p/${i}`), value: b('x') });
  const c = new TestClient(engine);
  c.capacity = 5; // two created, two snapshot_start, one page
  c.watch({ ...prefix, initialState: true });
  c.watch({ key: b('none/'), rangeEnd: b('none0'), initialState: true });
  await until(() => c.buffered >= 5);
  await kv.put({ key: b('p/0'), value: b('changed') });
  assert.is(c.watchers.get(0)!.responses.filter((r) => r.events.length).length, 1, 'one page, then it waits');
  c.capacity = 0;
  c.drain();
  const history = () => kv.history(2, engine.currentRevision(), { withPrevKv: true });
  await until(() => (c.watchers.get(0)?.responses.flatMap((r) => r.events).length ?? 0) === 7, 3000, 'six keys and one change');
  const h = await history();
  for (const [id, w] of c.watchers) assert.equal(validateComplete(h, w, engine.currentRevision()), [], `watcher ${id}`);
  assert.equal(c.watchers.get(1)!.responses.map((r) => [r.snapshotStart ?? false, r.snapshotDone ?? false, r.events.length]), [
    [false, false, 0],
    [true, false, 0],
    [false, true, 0],
  ]);
  await close();
});

test('resync: a watcher whose start was compacted gets the state at the current revision instead of a cancel', async () => {
  const { engine, kv, close } = await openEngine({ watchSnapshotPageKeys: 2 });
  for (let i = 0; i < 5; i++) await kv.put({ key: b(`p/${i}`), value: b(`v${i}`) });
  const full: RevisionChanges[] = await kv.history(2, engine.currentRevision(), { withPrevKv: true });
  await kv.compact(5);
  const c = new TestClient(engine);
  c.watch({ ...prefix, startRevision: 2, onCompacted: 'resync' });
  c.watch({ ...prefix, startRevision: 2 }); // etcd's behaviour without the option
  await until(() => c.watchers.get(0)!.responses.some((r) => r.snapshotDone) && c.watchers.get(1)!.responses.some((r) => r.canceled), 3000, 'resync and cancel');
  await kv.put({ key: b('p/9'), value: b('live') });
  await until(() => c.watchers.get(0)!.responses.some((r) => r.events.some((e) => e.kv.key.toString() === 'p/9')));
  const history = [...full, ...(await kv.history(7, engine.currentRevision(), { withPrevKv: true }))];
  const rs = c.watchers.get(0)!.responses;
  const start = rs.find((r) => r.snapshotStart)!;
  assert.is(start.compactRevision, 5, 'the resync marker names the compaction');
  assert.is(rs.find((r) => r.snapshotDone)!.revision, 6);
  assert.equal(validateComplete(history, c.watchers.get(0)!, engine.currentRevision()), []);
  assert.equal(validateWatcher(history, c.watchers.get(1)!, 5), []);
  await close();
});

test('resync: a stalled watcher overtaken by compaction resyncs once it reads again', async () => {
  const { engine, kv, close } = await openEngine();
  const c = new TestClient(engine);
  c.watch({ ...prefix, onCompacted: 'resync' });
  await kv.put({ key: b('p/a'), value: b('1') });
  await until(() => c.watchers.get(0)!.responses.length === 2);
  c.stalled = true;
  for (let i = 0; i < 6; i++) await kv.put({ key: b(`p/${i % 3}`), value: b(`${i}`) });
  const history = await kv.history(2, engine.currentRevision(), { withPrevKv: true });
  await kv.compact(engine.currentRevision() - 1);
  c.stalled = false;
  c.drain();
  await until(() => c.watchers.get(0)!.responses.some((r) => r.snapshotDone), 3000, 'resync');
  const w = c.watchers.get(0)!;
  assert.equal(validateComplete(history, w, engine.currentRevision()), []);
  assert.is(w.responses.some((r) => r.canceled), false);
  await close();
});

test.run();
