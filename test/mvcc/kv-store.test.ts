/** Store behaviour pinned to the etcd 3.4 transcripts in shared/reference (section B). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { isKvError } from '../../src/errors.ts';
import { openKvStore } from '../../src/mvcc/kv-store.ts';
import { META_FINISHED_COMPACT, recordKey } from '../../src/mvcc/kv-codec.ts';
import { encodeMetaRevision } from '../../src/mvcc/compaction.ts';
import { rejects } from '../support/rejects.ts';

const b = (s: string) => Buffer.from(s);


test('revisions: first write is 2, a delete of nothing and an empty txn do not advance', async () => {
  const store = await openKvStore(new MemoryBackend());
  assert.is(store.currentRevision(), 1);
  assert.is((await store.put({ key: b('a'), value: b('1') })).revision, 2);
  assert.is((await store.deleteRange({ key: b('zz') })).revision, 2);
  assert.equal(await store.txn({ compare: [], success: [], failure: [] }), { revision: 2, succeeded: true, responses: [] });
  const p = await store.put({ key: b('a'), value: b('2'), prevKv: true });
  assert.is(p.revision, 3);
  assert.equal(p.prevKv?.value, b('1'));
  const r = await store.range({ key: b('a') });
  assert.equal(
    { ...r.kvs[0], key: r.kvs[0]!.key.toString(), value: r.kvs[0]!.value.toString() },
    { key: 'a', createRevision: 2, modRevision: 3, version: 2, value: '2', lease: 0n },
  );
  await store.close();
});

test('txn failure branch: inner range sees the state before the writes, writes get the next revision', async () => {
  const store = await openKvStore(new MemoryBackend());
  await store.put({ key: b('/research/a'), value: b('v2') }); // 2
  await store.put({ key: b('/research/b'), value: b('v1') }); // 3
  await store.put({ key: b('/research/x'), value: b('hello') }); // 4
  const res = await store.txn({
    compare: [{ key: b('/research/a'), target: 'MOD', result: 'EQUAL', modRevision: 1 }],
    success: [],
    failure: [
      { range: { key: b('/research/a') } },
      { put: { key: b('/research/b'), value: b('v2'), prevKv: true } },
      { deleteRange: { key: b('/research/x'), prevKv: true } },
    ],
  });
  assert.is(res.succeeded, false);
  assert.is(res.revision, 5);
  const [r0, r1, r2] = res.responses as [any, any, any];
  assert.is(r0.range.revision, 4);
  assert.is(r0.range.count, 1);
  assert.is(r1.put.revision, 5);
  assert.equal(r1.put.prevKv.value, b('v1'));
  assert.is(r2.deleteRange.revision, 5);
  assert.is(r2.deleteRange.deleted, 1);
  const events: string[] = [];
  store.onCommit((rev, evs) => evs.forEach((e) => events.push(`${rev}:${e.type}:${e.kv.key}`)));
  await store.txn({ compare: [], success: [{ put: { key: b('p'), value: b('1') } }, { put: { key: b('q'), value: b('1') } }], failure: [] });
  assert.equal(events, ['6:PUT:p', '6:PUT:q'], 'one notification per txn, ops in order');
  await store.close();
});

test('errors: compacted, future, key not found on ignore_value, empty key', async () => {
  const store = await openKvStore(new MemoryBackend());
  for (let i = 0; i < 6; i++) await store.put({ key: b('k'), value: b(String(i)) });
  await rejects(store.range({ key: b('k'), revision: 100 }), 'ERR_FUTURE_REV');
  await store.compact(5, true);
  await rejects(store.range({ key: b('k'), revision: 4 }), 'ERR_COMPACTED');
  assert.is((await store.range({ key: b('k'), revision: 5 })).kvs[0]!.value.toString(), '3');
  await rejects(store.compact(5), 'ERR_COMPACTED');
  await rejects(store.compact(3), 'ERR_COMPACTED');
  await rejects(store.compact(100), 'ERR_FUTURE_REV');
  await rejects(store.put({ key: b('nope'), value: b(''), ignoreValue: true }), 'ERR_KEY_NOT_FOUND');
  await rejects(store.put({ key: Buffer.alloc(0), value: b('') }), 'ERR_KEY_NOT_PROVIDED');
  await rejects(store.range({ key: Buffer.alloc(0) }), 'ERR_KEY_NOT_PROVIDED');
  await rejects(store.history(4, 10), 'ERR_COMPACTED');
  assert.is((await store.history(5, 10)).length, 3, 'the compaction revision itself is still complete');
  // etcd checks every put of a txn's path before any range (found by the differential test):
  // a missing key for ignore_value wins over an earlier range at a future revision.
  const txn = { compare: [], success: [{ range: { key: b('k'), revision: 100 } }, { put: { key: b('nope'), value: b(''), ignoreValue: true } }], failure: [] };
  await rejects(store.txn(txn), 'ERR_KEY_NOT_FOUND');
  await rejects(store.txn({ ...txn, success: [{ range: { key: b('k'), revision: 100 } }, { put: { key: b('k'), value: b('') } }] }), 'ERR_FUTURE_REV');
  await store.close();
});

test('a failed disk write rejects its writers, keeps reads, and the store recovers', async () => {
  const backend = new MemoryBackend();
  const store = await openKvStore(backend);
  await store.put({ key: b('a'), value: b('safe') }); // 2
  backend.failWrites(new Error('ENOSPC: no space left on device'));
  const failed = await Promise.allSettled([store.put({ key: b('a'), value: b('lost') }), store.put({ key: b('b'), value: b('lost') })]);
  assert.equal(failed.map((f) => f.status), ['rejected', 'rejected']);
  assert.is(store.currentRevision(), 2);
  assert.is((await store.range({ key: b('a') })).kvs[0]!.value.toString(), 'safe');
  backend.failWrites(null);
  // Recovery rebuilds the index; writes succeed again once it is done.
  let res;
  for (let i = 0; i < 50 && !res; i++) {
    try {
      res = await store.put({ key: b('b'), value: b('ok') });
    } catch (err) {
      assert.ok(isKvError(err, 'ERR_UNAVAILABLE'));
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  assert.is(res?.revision, 3, 'the failed revisions were never published, so numbering continues at 3');
  assert.equal((await store.range({ key: b('a'), rangeEnd: b('c') })).kvs.map((kv) => kv.value.toString()), ['safe', 'ok']);
  await store.close();
});

test('a foreign data directory is refused', async () => {
  const backend = new MemoryBackend();
  await backend.open();
  await backend.write([{ type: 'put', key: b('something-else'), value: b('x') }]);
  await backend.close();
  await rejects(openKvStore(backend), 'ERR_CORRUPT');
});


test('a tombstone at the compaction revision survives a compaction re-run at open after its put was deleted', async () => {
  const backend = new MemoryBackend();
  let store = await openKvStore(backend);
  const k = (s: string) => Buffer.from(s);
  await store.put({ key: k('a'), value: k('1') }); // rev 2
  await store.deleteRange({ key: k('a') }); // rev 3: the tombstone
  await store.put({ key: k('b'), value: k('2') }); // rev 4
  await store.compact(3, true); // deletes a@2, keeps the tombstone a@3
  // As if the process died after deleting but before recording the compaction as finished.
  await backend.write([{ type: 'put', key: META_FINISHED_COMPACT, value: encodeMetaRevision(0) }]);
  await store.close();
  store = await openKvStore(backend); // re-runs the compaction at 3
  await store.close(); // waits for it
  store = await openKvStore(backend);
  const history = await store.history(3, 4);
  assert.equal(history.map((rc) => rc.events.map((e) => `${e.type} ${e.kv.key}@${rc.revision}`)), [['DELETE a@3'], ['PUT b@4']]);
  assert.is((await store.range({ key: k('a') })).kvs.length, 0);
  await store.close();
  // And a later compaction past it does drop it.
  store = await openKvStore(backend);
  await store.put({ key: k('c'), value: k('3') }); // rev 5
  await store.compact(5, true);
  assert.equal((await backend.scan({ gte: recordKey(3, 0), lt: recordKey(4, 0), limit: 10 })).length, 0);
  await store.close();
});

test.run();
