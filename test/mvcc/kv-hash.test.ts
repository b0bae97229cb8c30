/**
 * HashKV and Hash (src/mvcc/kv-hash.ts): a function of the history up to a revision — equal
 * histories hash alike on any backend, after a reopen and whatever a physical compaction has got
 * to; any difference in a value changes the hash from that revision on; etcd's errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LevelBackend } from '../../src/backend/level-backend.ts';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { openKvStore, type KvStore } from '../../src/mvcc/kv-store.ts';
import { Rng, testSeed } from '../support/rng.ts';
import { rejects } from '../support/rejects.ts';

const b = (s: string) => Buffer.from(s);


/** A random history of puts, deletes and multi-op txns over a few keys, replayable by seed; one put's value changed from step `tweakAt` on. */
async function play(store: KvStore, seed: number, steps: number, tweakAt = -1): Promise<void> {
  const rng = new Rng(seed);
  let tweaked = false;
  for (let i = 0; i < steps; i++) {
    const key = b(`k${rng.int(0, 7)}`);
    const op = rng.int(0, 9);
    // The tweak goes to the first plain put from `tweakAt` on, so revisions still line up.
    const tweak = tweakAt >= 0 && i >= tweakAt && op < 6 && !tweaked;
    if (tweak) tweaked = true;
    const value = b(`v${rng.int(0, 99)}${tweak ? '!' : ''}`);
    if (op < 6) await store.put({ key, value });
    else if (op < 8) await store.deleteRange({ key, rangeEnd: rng.chance(0.3) ? b('k9') : undefined });
    else {
      await store.txn({
        compare: [],
        success: [
          { put: { key: b(`t${rng.int(0, 3)}`), value } },
          { put: { key: b(`u${rng.int(0, 3)}`), value } },
        ],
        failure: [],
      });
    }
  }
}

/** Two in-memory stores given the same history. */
async function twins(seed: number, steps: number): Promise<[KvStore, KvStore]> {
  const stores = await Promise.all([openKvStore(new MemoryBackend()), openKvStore(new MemoryBackend())]);
  for (const s of stores) await play(s, seed, steps);
  return stores as [KvStore, KvStore];
}

test('equal histories hash alike at every revision; a changed value differs from its revision on', async () => {
  const seed = testSeed();
  const a = await openKvStore(new MemoryBackend());
  const same = await openKvStore(new MemoryBackend());
  const other = await openKvStore(new MemoryBackend());
  await play(a, seed, 60);
  await play(same, seed, 60);
  await play(other, seed, 60, 30);
  const current = a.currentRevision();
  assert.is(same.currentRevision(), current);
  let differed = false;
  for (let rev = 1; rev <= current; rev++) {
    const h = await a.hashKv(rev);
    assert.equal(await same.hashKv(rev), h, `seed ${seed}, rev ${rev}`);
    const o = (await other.hashKv(rev)).hash;
    // Once the tweaked write is in, the hash differs at every later revision.
    if (o !== h.hash) differed = true;
    else assert.not.ok(differed, `seed ${seed}: hashes agreed again at rev ${rev}`);
  }
  assert.ok(differed, `seed ${seed}: the changed value never showed in the hash`);
  assert.equal(await a.hashKv(0), await a.hashKv(current));
  assert.is((await a.hashKv(0)).compactRevision, -1);
  await Promise.all([a.close(), same.close(), other.close()]);
});

test('the same history on LevelDB hashes as on memory, and again after reopening', async () => {
  const seed = testSeed();
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-hash-'));
  try {
    const mem = await openKvStore(new MemoryBackend());
    let lvl = await openKvStore(new LevelBackend(dir));
    await play(mem, seed, 40);
    await play(lvl, seed, 40);
    const rev = mem.currentRevision();
    const h = (await mem.hashKv(0)).hash;
    assert.is((await lvl.hashKv(0)).hash, h, `seed ${seed}`);
    await lvl.close();
    lvl = await openKvStore(new LevelBackend(dir));
    assert.is(lvl.currentRevision(), rev);
    assert.is((await lvl.hashKv(rev)).hash, h, `seed ${seed}: after reopen`);
    await Promise.all([mem.close(), lvl.close()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compaction: the hash does not depend on how far the physical deletion got', async () => {
  const seed = testSeed();
  const [physical, logical] = await twins(seed, 50);
  const at = physical.currentRevision() - 10;
  await physical.compact(at, true);
  await logical.compact(at, false); // hashed at once: its records may still be on "disk"
  for (let rev = at + 1; rev <= physical.currentRevision(); rev++) {
    const h = await logical.hashKv(rev);
    assert.equal(h, await physical.hashKv(rev), `seed ${seed}, rev ${rev}`);
    assert.is(h.compactRevision, at);
  }
  // As etcd: the compaction revision itself and anything below it is compacted; past the end is future.
  await rejects(physical.hashKv(at), 'ERR_COMPACTED');
  await rejects(physical.hashKv(1), 'ERR_COMPACTED');
  await rejects(physical.hashKv(physical.currentRevision() + 1), 'ERR_FUTURE_REV');
  await Promise.all([physical.close(), logical.close()]);
});

test("etcd's keep rule: records compaction dropped never count; a kept one counts until replaced", async () => {
  // Three histories that differ only in a@2 (compacted away) or in a@3 (kept, replaced at 5).
  const build = async (a2: string, a3: string, physical: boolean, b4 = '1'): Promise<KvStore> => {
    const s = await openKvStore(new MemoryBackend());
    await s.put({ key: b('a'), value: b(a2) }); // 2
    await s.put({ key: b('a'), value: b(a3) }); // 3
    await s.put({ key: b('b'), value: b(b4) }); // 4
    await s.compact(4, physical); // keeps a@3 and b@4
    await s.put({ key: b('a'), value: b('3') }); // 5
    return s;
  };
  const base = await build('1', '2', true);
  const otherA2 = await build('x', '2', false);
  const otherA3 = await build('1', 'z', true);
  assert.is((await otherA2.hashKv(5)).hash, (await base.hashKv(5)).hash);
  assert.is((await otherA3.hashKv(5)).hash, (await base.hashKv(5)).hash); // a@3 replaced by 5
  const otherB4 = await build('1', '2', false, 'y');
  assert.is.not((await otherB4.hashKv(5)).hash, (await base.hashKv(5)).hash); // b@4 is kept and current
  // Empty history: a negative revision hashes nothing, like revision 1 (before the first write).
  const empty = await openKvStore(new MemoryBackend());
  assert.is((await empty.hashKv(-5)).hash, (await empty.hashKv(1)).hash);
  await Promise.all([base.close(), otherA2.close(), otherA3.close(), otherB4.close(), empty.close()]);
});

test('Hash covers every stored record: equal stores agree, a write changes it', async () => {
  const seed = testSeed();
  const [a, c] = await twins(seed, 30);
  const h = await a.hashAll();
  assert.is(await c.hashAll(), h);
  await a.put({ key: b('x'), value: b('y') });
  assert.is.not(await a.hashAll(), h);
  await a.defragment(); // nothing to give back in memory; must still succeed
  await Promise.all([a.close(), c.close()]);
});

test.run();
