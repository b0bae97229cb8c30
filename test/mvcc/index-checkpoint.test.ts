/**
 * The index checkpoint against the full rebuild it replaces: after random puts, deletes and
 * compactions, with clean closes (a checkpoint written), crashes (none written, so an older
 * checkpoint plus a longer tail), a crash between the checkpoint file and its meta record, and
 * damaged files, the index a store opens with must equal the one rebuilt from every record.
 * Replay a failure with TEST_SEED=<seed>.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LevelBackend } from '../../src/backend/level-backend.ts';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import type { CheckpointStore } from '../../src/mvcc/index-checkpoint.ts';
import type { RestoreProgress } from '../../src/mvcc/index-restore.ts';
import { CHECKPOINT_FILE, openKvStore, type KvStore } from '../../src/mvcc/kv-store.ts';
import { Rng, testSeed } from '../support/rng.ts';

/** A checkpoint "file" in memory; `crash` makes the next write fail as if the process died first. */
class MemoryCheckpoint implements CheckpointStore {
  data: Buffer | undefined;
  crash = false;
  async read() {
    return this.data && Buffer.from(this.data);
  }
  async write(data: Buffer) {
    if (this.crash) throw new Error('crashed before the checkpoint was written');
    this.data = Buffer.from(data);
  }
}

interface Opened {
  store: KvStore;
  progress: RestoreProgress[];
}

async function open(backend: MemoryBackend | LevelBackend, checkpoint: CheckpointStore | null | undefined): Promise<Opened> {
  const progress: RestoreProgress[] = [];
  const store = await openKvStore(backend, {
    ...(checkpoint !== undefined ? { checkpoint } : {}),
    onRestoreProgress: (p) => progress.push(p),
  });
  return { store, progress };
}

/** Everything the index holds, in a comparable form. */
function dump(store: KvStore): unknown {
  return {
    revision: store.currentRevision(),
    compactRevision: store.compactRevision(),
    keys: store.index.all().map((ki) => {
      const kv = ki.latest;
      return {
        key: ki.key.toString('latin1'),
        generations: ki.generations(),
        latest: kv && { ...kv, key: kv.key.toString('latin1'), value: kv.value.toString('latin1'), lease: String(kv.lease) },
      };
    }),
  };
}

/** The index as a full rebuild from the records sees it (the backend must be closed). */
async function rebuilt(backend: MemoryBackend): Promise<unknown> {
  const { store, progress } = await open(backend, null);
  assert.not.ok(progress.some((p) => p.phase === 'checkpoint'));
  const d = dump(store);
  await store.close();
  return d;
}

async function randomWrites(store: KvStore, rng: Rng, n: number): Promise<void> {
  const key = () => Buffer.from(`k${rng.int(0, 40)}`);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < 0.6) await store.put({ key: key(), value: Buffer.from(`v${rng.int(0, 1e6)}`), lease: rng.chance(0.1) ? 7n : 0n });
    else if (r < 0.8) await store.deleteRange({ key: key() });
    else if (r < 0.9) await store.deleteRange({ key: Buffer.from('k1'), rangeEnd: Buffer.from('k2') });
    else if (r < 0.97) {
      await store.txn({
        compare: [],
        success: [{ put: { key: key(), value: Buffer.from('t') } }, { deleteRange: { key: key() } }, { put: { key: key(), value: Buffer.from('u') } }],
        failure: [],
      }).catch(() => {}); // the same key twice is refused, as etcd does
    } else {
      const current = store.currentRevision();
      const at = rng.int(Math.max(store.compactRevision() + 1, current - 30), current);
      await store.compact(at, rng.chance(0.5)).catch(() => {});
    }
  }
}

test('checkpoint + tail equals a full rebuild: clean closes, crashes, compactions (seeded)', async () => {
  for (let round = 0; round < 12; round++) {
    const seed = testSeed();
    try {
      const rng = new Rng(seed);
      const backend = new MemoryBackend();
      const ckpt = new MemoryCheckpoint();
      let { store } = await open(backend, ckpt);
      for (let cycle = 0; cycle < 5; cycle++) {
        await randomWrites(store, rng, rng.int(5, 120));
        // A crash writes no checkpoint: the next open uses the older one and a longer tail.
        ckpt.crash = rng.chance(0.35);
        const before = dump(store);
        await store.close();
        ckpt.crash = false;
        const opened = await open(backend, ckpt);
        store = opened.store;
        assert.equal(dump(store), before, 'reopened index equals the one closed');
        const usedCheckpoint = opened.progress.some((p) => p.phase === 'checkpoint');
        if (ckpt.data) {
          const rejected = opened.progress.at(-1)?.checkpointRejected;
          assert.ok(usedCheckpoint || /compaction/.test(rejected ?? ''), `checkpoint set aside only for a later compaction (${rejected})`);
        }
        await store.close();
        assert.equal(await rebuilt(backend), before, 'full rebuild agrees');
        ({ store } = await open(backend, ckpt));
      }
      await store.close();
    } catch (err) {
      console.error(`failing seed: TEST_SEED=${seed}`);
      throw err;
    }
  }
});

test('a damaged, stale or foreign checkpoint is set aside and the index rebuilt', async () => {
  const seed = testSeed();
  const rng = new Rng(seed);
  const backend = new MemoryBackend();
  const ckpt = new MemoryCheckpoint();
  let { store } = await open(backend, ckpt);
  await randomWrites(store, rng, 200);
  const want = dump(store);
  await store.close();
  const good = Buffer.from(ckpt.data!);

  const damages: Array<[string, (b: Buffer) => Buffer]> = [
    ['one flipped byte', (b) => {
      const c = Buffer.from(b);
      c[rng.int(0, c.length - 1)]! ^= 1 << rng.int(0, 7);
      return c;
    }],
    ['truncated', (b) => b.subarray(0, rng.int(0, b.length - 1))],
    ['empty', () => Buffer.alloc(0)],
  ];
  for (const [what, damage] of damages) {
    ckpt.data = damage(good);
    const opened = await open(backend, ckpt);
    assert.ok(opened.progress.at(-1)?.checkpointRejected, `${what}: rejected (seed ${seed})`);
    assert.equal(dump(opened.store), want, `${what}: rebuilt index is right (seed ${seed})`);
    ckpt.crash = true; // keep the damaged file for the next case's base
    await opened.store.close();
    ckpt.crash = false;
  }

  // Crash between the new file and its meta record: the file no longer matches the meta.
  ckpt.data = good;
  ({ store } = await open(backend, ckpt));
  await store.put({ key: Buffer.from('late'), value: Buffer.from('x') });
  const want2 = dump(store);
  backend.failWrites(new Error('power cut before the meta record'));
  await store.close();
  backend.failWrites(null);
  const opened = await open(backend, ckpt);
  assert.match(opened.progress.at(-1)?.checkpointRejected ?? '', /checksum|length|revision/);
  assert.equal(dump(opened.store), want2);
  await opened.store.close();

  // A checkpoint without its meta record (a file copied from elsewhere) is not even read.
  const other = new MemoryBackend();
  const foreign = await open(other, ckpt);
  assert.not.ok(foreign.progress.some((p) => p.phase === 'checkpoint'));
  assert.is(foreign.store.index.size, 0);
  await foreign.store.close();
});

test('on LevelDB the checkpoint is a file beside the data; unknown key prefixes are left alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-ckpt-'));
  try {
    let opened = await open(new LevelBackend(dir), undefined);
    for (let i = 0; i < 500; i++) await opened.store.put({ key: Buffer.from(`key/${i % 300}`), value: Buffer.from(`value ${i}`) });
    await opened.store.deleteRange({ key: Buffer.from('key/1'), rangeEnd: Buffer.from('key/2') });
    const want = dump(opened.store);
    await opened.store.close();
    // Another room's records (e.g. leases) under their own prefix must not disturb the restore.
    const raw = new LevelBackend(dir);
    await raw.open();
    await raw.write([{ type: 'put', key: Buffer.from('lease/1'), value: Buffer.from('anything') }]);
    await raw.close();

    opened = await open(new LevelBackend(dir), undefined);
    assert.ok(opened.progress.some((p) => p.phase === 'checkpoint'), 'loaded from the checkpoint file');
    assert.is(opened.progress.at(-1)?.records, 0, 'no record read: nothing after the checkpoint');
    assert.equal(dump(opened.store), want);
    await opened.store.put({ key: Buffer.from('key/after'), value: Buffer.from('tail') });
    const want2 = dump(opened.store);
    // kill -9 now: no new checkpoint. Simulate by setting the file back to the old one.
    const file = join(dir, CHECKPOINT_FILE);
    const old = readFileSync(file);
    await opened.store.close();
    writeFileSync(file, old);
    opened = await open(new LevelBackend(dir), undefined);
    assert.match(opened.progress.at(-1)?.checkpointRejected ?? '', /checksum|length|revision/, 'old file, new meta: set aside');
    assert.equal(dump(opened.store), want2);
    await opened.store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
