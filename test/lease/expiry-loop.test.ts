/**
 * The expiry loop's bounded work: thousands of leases expiring at once are revoked in batches of
 * leaseRevokeBatch, yielding to the event loop between batches, each lease its own revision.
 * Measured in work per turn of the event loop, never in wall-clock time.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { openKvStore } from '../../src/mvcc/kv-store.ts';
import { openLessor } from '../../src/lease/lessor.ts';

test('5,000 leases expiring at once: bounded batches, the event loop turns between them', async () => {
  const clock = { t: 0 };
  const batch = 200;
  const store = await openKvStore(new MemoryBackend());
  const lessor = await openLessor(store, { now: () => clock.t, leaseCheckIntervalMs: 60_000, leaseRevokeBatch: batch });
  const n = 5000;
  await Promise.all(Array.from({ length: n }, (_, i) => lessor.grant(BigInt(i + 1), 5)));
  await Promise.all(Array.from({ length: n }, (_, i) => store.put({ key: Buffer.from(`k${i}`), value: Buffer.from('v'), lease: BigInt(i + 1) })));
  const before = store.currentRevision();
  let deletes = 0;
  const revisions = new Set<number>();
  store.onCommit((rev, events) => {
    revisions.add(rev);
    deletes += events.filter((e) => e.type === 'DELETE').length;
  });
  // A probe that runs on every turn of the event loop: how many leases went between two turns?
  let last = 0;
  let most = 0;
  let turns = 0;
  let done = false;
  const probe = (): void => {
    most = Math.max(most, deletes - last);
    last = deletes;
    turns++;
    if (!done) setImmediate(probe);
  };
  setImmediate(probe);
  clock.t += 5_000;
  await lessor.expireNow();
  done = true;
  assert.is(deletes, n, 'every key deleted');
  assert.is(revisions.size, n, 'one revision per lease');
  assert.is(store.currentRevision(), before + n);
  assert.equal(lessor.leases(), []);
  assert.ok(most <= batch, `at most one batch (${batch}) between two turns of the event loop, saw ${most}`);
  assert.ok(turns >= n / batch - 1, `the event loop turned ${turns} times`);
  await lessor.close();
  await store.close();
});

test('close stops the loop: no revoke starts after it, and the store can close', async () => {
  const clock = { t: 0 };
  const store = await openKvStore(new MemoryBackend());
  const lessor = await openLessor(store, { now: () => clock.t, leaseCheckIntervalMs: 60_000, leaseRevokeBatch: 10 });
  await Promise.all(Array.from({ length: 100 }, (_, i) => lessor.grant(BigInt(i + 1), 5)));
  clock.t += 10_000;
  const pass = lessor.expireNow();
  await lessor.close();
  await pass;
  const left = lessor.leases().length;
  assert.ok(left > 0 && left < 100, `the pass stopped part-way (${left} left)`);
  await store.close();
});

test.run();
