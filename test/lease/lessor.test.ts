/**
 * The lessor over a real store (memory backend) with a fake clock: grant/revoke/renew/expiry,
 * attachment bookkeeping through puts, txns and deletes, one revision per revoke with DELETE
 * events, durability across a reopen, races of puts with revokes, and storage failures.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { isKvError } from '../../src/errors.ts';
import { openKvStore, type KvStore } from '../../src/mvcc/kv-store.ts';
import type { Event } from '../../src/mvcc/kv.ts';
import { openLessor, type LessorImpl } from '../../src/lease/lessor.ts';
import { rejects } from '../support/rejects.ts';

const b = (s: string) => Buffer.from(s);


interface Rig {
  backend: MemoryBackend;
  store: KvStore;
  lessor: LessorImpl;
  clock: { t: number };
  commits: Array<{ revision: number; events: readonly Event[] }>;
  close(): Promise<void>;
}

async function rig(backend = new MemoryBackend(), clock = { t: 1_000_000 }): Promise<Rig> {
  const store = await openKvStore(backend);
  const lessor = await openLessor(store, { now: () => clock.t, leaseCheckIntervalMs: 60_000, leaseRevokeBatch: 7 });
  const commits: Rig['commits'] = [];
  store.onCommit((revision, events) => commits.push({ revision, events }));
  return {
    backend,
    store,
    lessor,
    clock,
    commits,
    close: async () => {
      await lessor.close();
      await store.close();
    },
  };
}

test('grant: TTL raised to the minimum, too large refused, duplicate refused, id 0 picks one', async () => {
  const r = await rig();
  const g = await r.lessor.grant(0n, 0);
  assert.ok(g.id > 0n);
  assert.is(g.ttlSeconds, 2);
  assert.is(g.revision, 1);
  assert.is((await r.lessor.grant(5n, -10)).ttlSeconds, 2);
  assert.is((await r.lessor.grant(6n, 9_000_000_000)).ttlSeconds, 9_000_000_000);
  await rejects(r.lessor.grant(7n, 9_000_000_001), 'ERR_LEASE_TTL_TOO_LARGE');
  await rejects(r.lessor.grant(5n, 10), 'ERR_LEASE_EXISTS');
  // too large wins over exists, as in etcd's Grant
  await rejects(r.lessor.grant(5n, 9_000_000_001), 'ERR_LEASE_TTL_TOO_LARGE');
  assert.equal(r.lessor.leases(), [5n, g.id, 6n], 'soonest expiry first, ties by id');
  await r.close();
});

test('put with lease attaches; unknown lease refused; put without lease and delete detach', async () => {
  const r = await rig();
  await r.lessor.grant(1n, 10);
  await r.lessor.grant(2n, 10);
  await rejects(r.store.put({ key: b('x'), value: b('v'), lease: 3n }), 'ERR_LEASE_NOT_FOUND');
  assert.is(r.store.currentRevision(), 1, 'the refused put wrote nothing');
  await r.store.put({ key: b('a'), value: b('1'), lease: 1n });
  await r.store.put({ key: b('b'), value: b('1'), lease: 1n });
  await r.store.put({ key: b('c'), value: b('1'), lease: 2n });
  assert.equal(r.lessor.timeToLive(1n, true).keys.map(String), ['a', 'b']);
  await r.store.put({ key: b('b'), value: b('2'), ignoreLease: true });
  assert.is(r.lessor.leaseOfKey(b('b')), 1n, 'ignore_lease keeps the lease');
  await r.store.put({ key: b('b'), value: b('3') });
  assert.is(r.lessor.leaseOfKey(b('b')), 0n, 'a put without lease detaches');
  await r.store.put({ key: b('a'), value: b('2'), lease: 2n });
  assert.equal(r.lessor.timeToLive(1n, true).keys, []);
  assert.equal(r.lessor.timeToLive(2n, true).keys.map(String), ['a', 'c']);
  await r.store.deleteRange({ key: b('c') });
  assert.equal(r.lessor.timeToLive(2n, true).keys.map(String), ['a']);
  await r.close();
});

test('txn: an unknown lease on the taken branch fails the whole txn; the other branch is not checked', async () => {
  const r = await rig();
  await r.lessor.grant(1n, 10);
  const put = (key: string, lease: bigint) => ({ put: { key: b(key), value: b('v'), lease } });
  await rejects(r.store.txn({ compare: [], success: [put('a', 1n), put('b', 9n)], failure: [] }), 'ERR_LEASE_NOT_FOUND');
  assert.is(r.store.currentRevision(), 1);
  const t = await r.store.txn({ compare: [], success: [put('a', 1n), { txn: { compare: [], success: [put('b', 1n)], failure: [] } }], failure: [put('z', 9n)] });
  assert.ok(t.succeeded);
  assert.equal(r.lessor.timeToLive(1n, true).keys.map(String), ['a', 'b']);
  await r.close();
});

test('revoke: every key deleted in ONE revision, sorted, with DELETE events; no keys = no revision', async () => {
  const r = await rig();
  await r.lessor.grant(1n, 10);
  await r.lessor.grant(2n, 10);
  for (const k of ['k3', 'k1', 'k2']) await r.store.put({ key: b(k), value: b('v'), lease: 1n });
  const before = r.store.currentRevision();
  const rv = await r.lessor.revoke(1n);
  assert.is(rv.revision, before + 1);
  const last = r.commits[r.commits.length - 1]!;
  assert.is(last.revision, before + 1);
  assert.equal(last.events.map((e) => `${e.type} ${e.kv.key}`), ['DELETE k1', 'DELETE k2', 'DELETE k3']);
  assert.ok(last.events.every((e) => e.prevKv?.lease === 1n));
  assert.is((await r.store.range({ key: b('k'), rangeEnd: b('l') })).count, 0);
  assert.is((await r.lessor.revoke(2n)).revision, before + 1, 'a lease without keys revokes without a revision');
  await rejects(r.lessor.revoke(1n), 'ERR_LEASE_NOT_FOUND');
  assert.equal(r.lessor.timeToLive(1n, false), { id: 1n, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] });
  assert.is(await r.lessor.renew(1n), 0);
  await r.close();
});

test('renew and timeToLive follow the clock; expiry revokes in batches, each lease its own revision', async () => {
  const r = await rig();
  await r.lessor.grant(1n, 10);
  r.clock.t += 4_500;
  assert.is(r.lessor.timeToLive(1n, false).ttlSeconds, 5, 'truncated like int64(seconds)');
  assert.is(await r.lessor.renew(1n), 10);
  assert.is(r.lessor.timeToLive(1n, false).ttlSeconds, 10);
  r.clock.t += 1;
  assert.is(r.lessor.timeToLive(1n, false).ttlSeconds, 9);
  for (let i = 0; i < 10_000; i++) {
    r.clock.t += 1;
    await r.lessor.renew(1n);
  }
  assert.is(r.lessor.queuedEntries(), 1, 'renewals do not grow the expiry queue');
  await r.lessor.expireNow();
  assert.equal(r.lessor.leases(), [1n], 'the old entry surfaced and re-queued the lease, not expired it');
  assert.is(r.lessor.queuedEntries(), 1);
  for (let i = 0; i < 20; i++) {
    await r.lessor.grant(BigInt(100 + i), 3);
    await r.store.put({ key: b(`e${i}`), value: b('v'), lease: BigInt(100 + i) });
  }
  const rev = r.store.currentRevision();
  r.clock.t += 3_000;
  await r.lessor.expireNow();
  assert.is(r.store.currentRevision(), rev + 20, 'one revision per expired lease');
  assert.equal(r.lessor.leases(), [1n], 'the renewed lease lives on');
  r.clock.t += 10_000;
  assert.is(await r.lessor.renew(1n), 0, 'renewing an expired lease: revoked, TTL 0');
  assert.equal(r.lessor.leases(), []);
  await r.close();
});

test('durable: leases and attachments survive a reopen, each with its full TTL again', async () => {
  const backend = new MemoryBackend();
  const r = await rig(backend);
  await r.lessor.grant(1n, 30);
  await r.lessor.grant(2n, 30);
  await r.lessor.grant(3n, 30);
  await r.store.put({ key: b('a'), value: b('1'), lease: 1n });
  await r.store.put({ key: b('b'), value: b('1'), lease: 3n });
  await r.lessor.revoke(2n);
  r.clock.t += 25_000;
  await r.close();
  const r2 = await rig(backend, r.clock);
  assert.equal(r2.lessor.leases(), [1n, 3n]);
  assert.equal(r2.lessor.timeToLive(1n, true), { id: 1n, ttlSeconds: 30, grantedTtlSeconds: 30, keys: [b('a')] });
  await r2.lessor.revoke(3n);
  await r2.close();
  const r3 = await rig(backend);
  assert.equal(r3.lessor.leases(), [1n]);
  assert.is((await r3.store.range({ key: b('b') })).count, 0);
  await r3.close();
});

test('race: puts with a lease issued around its revoke never leave a key attached to a dead lease', async () => {
  const r = await rig();
  for (let round = 0; round < 20; round++) {
    const id = BigInt(1000 + round);
    await r.lessor.grant(id, 60);
    const puts = Array.from({ length: 10 }, (_, i) => r.store.put({ key: b(`r${round}/${i}`), value: b('v'), lease: id }).then(() => true, (e) => {
      assert.ok(isKvError(e, 'ERR_LEASE_NOT_FOUND'), String(e));
      return false;
    }));
    const revoke = r.lessor.revoke(id);
    const more = Array.from({ length: 5 }, (_, i) => r.store.put({ key: b(`r${round}/x${i}`), value: b('v'), lease: id }).then(() => true, () => false));
    await Promise.all([...puts, revoke, ...more]);
    const left = await r.store.range({ key: b(`r${round}/`), rangeEnd: b(`r${round}0`) });
    assert.is(left.count, 0, `round ${round}: keys outlived their lease`);
  }
  await r.close();
});

test('storage failure: a failed grant does not exist, a failed revoke keeps its lease and keys', async () => {
  const r = await rig();
  await r.lessor.grant(1n, 30);
  await r.store.put({ key: b('a'), value: b('1'), lease: 1n });
  r.backend.failWrites(new Error('disk full'));
  await r.lessor.grant(2n, 30).then(() => assert.unreachable('grant should fail'), () => {});
  await r.lessor.revoke(1n).then(() => assert.unreachable('revoke should fail'), () => {});
  r.backend.failWrites(null);
  for (let i = 0; i < 100 && !r.store.isOpen(); i++) await new Promise((res) => setTimeout(res, 20));
  assert.equal(r.lessor.leases(), [1n]);
  assert.equal(r.lessor.timeToLive(1n, true).keys, [b('a')]);
  await rejects(r.store.put({ key: b('x'), value: b('1'), lease: 2n }), 'ERR_LEASE_NOT_FOUND');
  assert.is((await r.lessor.revoke(1n)).revision, r.store.currentRevision());
  assert.is((await r.store.range({ key: b('a') })).count, 0);
  await r.close();
});

test('storage failure during expiry: the lease lives on and is revoked once the disk heals', async () => {
  const r = await rig();
  await r.lessor.grant(1n, 5);
  await r.store.put({ key: b('a'), value: b('1'), lease: 1n });
  r.backend.failWrites(new Error('disk full'));
  r.clock.t += 6_000;
  await r.lessor.expireNow();
  assert.equal(r.lessor.leases(), [1n], 'a failed revoke leaves the lease');
  r.backend.failWrites(null);
  for (let i = 0; i < 100 && !r.store.isOpen(); i++) await new Promise((res) => setTimeout(res, 20));
  await r.lessor.expireNow();
  assert.equal(r.lessor.leases(), []);
  assert.is((await r.store.range({ key: b('a') })).count, 0);
  await r.close();
});

/** A memory backend whose writes can be held, to look at the state while a batch is on its way. */
class GatedBackend extends MemoryBackend {
  gate: Promise<void> | undefined;
  override async write(ops: Parameters<MemoryBackend['write']>[0]): Promise<void> {
    const held = this.gate;
    if (held) await held;
    return super.write(ops);
  }
}

test('visibility follows the disk: a grant is listed once durable, a revoked lease until its keys are gone', async () => {
  const backend = new GatedBackend();
  const r = await rig(backend);
  await r.lessor.grant(1n, 30);
  await r.store.put({ key: b('a'), value: b('1'), lease: 1n });
  let open!: () => void;
  backend.gate = new Promise((res) => (open = res));
  const granting = r.lessor.grant(2n, 30);
  const revoking = r.lessor.revoke(1n);
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(r.lessor.leases(), [1n], 'the grant is not durable yet: not listed; the revoke not durable yet: still listed');
  assert.is(r.lessor.timeToLive(2n, false).ttlSeconds, -1);
  assert.is(await r.lessor.renew(1n), 0, 'a lease being revoked is not renewed');
  assert.is((await r.store.range({ key: b('a') })).count, 1, 'its key is still readable, like the lease');
  const put = r.store.put({ key: b('b'), value: b('1'), lease: 2n }); // may attach: same or later batch
  await rejects(r.store.put({ key: b('c'), value: b('1'), lease: 1n }), 'ERR_LEASE_NOT_FOUND');
  backend.gate = undefined;
  open();
  await Promise.all([granting, revoking, put]);
  assert.equal(r.lessor.leases(), [2n]);
  assert.is((await r.store.range({ key: b('a') })).count, 0);
  assert.equal(r.lessor.timeToLive(2n, true).keys, [b('b')]);
  await r.close();
});

test.run();
