/**
 * Child process of test/mvcc/crash.test.ts: opens a LevelDB-backed store and writes until it is
 * killed. It prints one JSON line per ACKNOWLEDGED write, only after the store resolved it:
 *
 *   {"ready":true,"rev":R,"compactRev":C}          store opened
 *   {"rev":R,"ops":[{"t":"put","k":K,"v":V}, {"t":"del","k":K,"n":deleted}]}   a put, delete or txn
 *   {"compact":R}                                  compact(R) acknowledged (scheduled record durable)
 *   {"delBatch":N}                                 a physical-compaction delete batch reached disk
 *
 * Usage: node --import tsx test/support/crash-writer.ts <dir> <seed> <normal|physical>
 * In `physical` mode it first piles up history, then compacts it with small batches so the
 * parent can kill it in the middle of the physical deletion.
 */
import { writeSync } from 'node:fs';
import type { BatchOp } from '../../src/backend/backend.ts';
import { LevelBackend } from '../../src/backend/level-backend.ts';
import type { RequestOp } from '../../src/mvcc/kv.ts';
import { openKvStore } from '../../src/mvcc/kv-store.ts';
import { Rng } from './rng.ts';

const [dir, seedArg, mode = 'normal'] = process.argv.slice(2);
if (!dir || !seedArg) throw new Error('usage: crash-writer.ts <dir> <seed> <normal|physical>');
const seed = Number(seedArg);
const rng = new Rng(seed);

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Synchronous write to fd 1: a line is in the pipe before the next write is even issued. fd 1 is
 * a non-blocking pipe, so when the parent lags (a loaded CI box) a write may take part of the
 * line, or nothing (EAGAIN): wait a millisecond and write the rest, keeping the line whole.
 */
function emit(line: object): void {
  let rest = Buffer.from(JSON.stringify(line) + '\n');
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(1, rest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** Reports physical-compaction batches (all-delete batches) once they are durable. */
class TracingBackend extends LevelBackend {
  private delBatches = 0;
  override async write(ops: readonly BatchOp[]): Promise<void> {
    await super.write(ops);
    if (ops.length > 0 && ops.every((op) => op.type === 'del')) emit({ delBatch: ++this.delBatches });
  }
}

const KEYS = 120;
const key = (i: number) => `k${String(i).padStart(3, '0')}`;
const b = (s: string) => Buffer.from(s);
// Values are unique per process and op, so the parent can tell every write apart.
let serial = 0;
const tag = () => `${seed}.${serial++}`;

const store = await openKvStore(new TracingBackend(dir), { compactionBatchRecords: mode === 'physical' ? 40 : 200 });
emit({ ready: true, rev: store.currentRevision(), compactRev: store.compactRevision() });

async function put(): Promise<void> {
  const k = key(rng.int(0, KEYS - 1));
  const v = `p${tag()}`;
  const res = await store.put({ key: b(k), value: b(v) });
  emit({ rev: res.revision, ops: [{ t: 'put', k, v }] });
}

async function del(): Promise<void> {
  const k = key(rng.int(0, KEYS - 1));
  const res = await store.deleteRange({ key: b(k) });
  if (res.deleted > 0) emit({ rev: res.revision, ops: [{ t: 'del', k, n: res.deleted }] });
}

/** A txn of several puts on distinct keys plus one delete; values carry "tx<id>/<puts>". */
async function txn(): Promise<void> {
  const picked = new Set<number>();
  const size = rng.int(2, 6);
  while (picked.size < size) picked.add(rng.int(0, KEYS - 1));
  const [delKey, ...putKeys] = [...picked].map(key);
  const id = `tx${tag()}/${putKeys.length}`;
  const success: RequestOp[] = putKeys.map((k, i) => ({ put: { key: b(k), value: b(`${id}#${i}`) } }));
  success.push({ deleteRange: { key: b(delKey!) } });
  const res = await store.txn({ compare: [], success, failure: [] });
  const last = res.responses[res.responses.length - 1]!;
  const deleted = 'deleteRange' in last ? last.deleteRange.deleted : 0;
  emit({
    rev: res.revision,
    ops: [...putKeys.map((k, i) => ({ t: 'put', k, v: `${id}#${i}` })), ...(deleted > 0 ? [{ t: 'del', k: delKey, n: deleted }] : [])],
  });
}

async function compactSome(): Promise<void> {
  // Keep some history above the compaction point so reads at recent revisions still work.
  const target = store.currentRevision() - rng.int(0, 20);
  if (target <= store.compactRevision()) return;
  await store.compact(target);
  emit({ compact: target });
}

async function writer(id: number, compactAfter: number): Promise<void> {
  for (let n = 0; ; n++) {
    if (id === 0 && n === compactAfter) await compactSome();
    const roll = rng.next();
    if (roll < 0.5) await put();
    else if (roll < 0.65) await del();
    else await txn();
  }
}

if (mode === 'physical') {
  // Pile up history: txns of many puts, so the compaction below has thousands of records to delete.
  for (let round = 0; round < 150; round++) {
    const id = `tx${tag()}/20`;
    const puts = Array.from({ length: 20 }, (_, i) => ({ t: 'put', k: key((round * 7 + i) % KEYS), v: `${id}#${i}` }));
    const res = await store.txn({ compare: [], success: puts.map((p) => ({ put: { key: b(p.k), value: b(p.v) } })), failure: [] });
    emit({ rev: res.revision, ops: puts });
  }
  void Promise.all(Array.from({ length: 8 }, (_, i) => writer(i + 1, -1)));
  await compactSome();
  await new Promise(() => {}); // write until killed
} else {
  await Promise.all(Array.from({ length: 16 }, (_, i) => writer(i, rng.int(2, 12))));
}
