/**
 * Model-based randomized test: thousands of random puts, deletes, txns (nested, with every
 * compare), ranges at past revisions with every option, history reads and compactions, run
 * against the store and the reference model side by side, with the store closed and reopened
 * at random points. Every answer — results and errors — must match.
 * Replay a failure with TEST_SEED=<seed>.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../../src/backend/backend.ts';
import { LevelBackend } from '../../src/backend/level-backend.ts';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { isKvError } from '../../src/errors.ts';
import type { Compare, RangeRequest, RequestOp, TxnRequest } from '../../src/mvcc/kv.ts';
import { openKvStore, type KvStore } from '../../src/mvcc/kv-store.ts';
import { KvModel, ModelError } from '../support/kv-model.ts';
import { Rng, testSeed } from '../support/rng.ts';

const KEYS = ['a', 'aa', 'ab', 'b', 'b\x00', 'ba', 'c', 'c\xff', 'd', '\xff'].map((k) => Buffer.from(k, 'latin1'));
const ENDS = [undefined, Buffer.from([0]), ...KEYS, Buffer.from('e')];

function plain(x: unknown): unknown {
  return JSON.parse(
    JSON.stringify(x, (_k, v) => {
      if (typeof v === 'bigint') return `${v}n`;
      if (v && v.type === 'Buffer' && Array.isArray(v.data)) return Buffer.from(v.data).toString('latin1');
      return v;
    }),
  );
}

async function outcome<T>(f: () => T | Promise<T>): Promise<unknown> {
  try {
    return plain(await f());
  } catch (err) {
    if (err instanceof ModelError) return { error: err.code };
    if (isKvError(err)) return { error: err.code };
    throw err;
  }
}

function randomRange(rng: Rng, model: KvModel): RangeRequest {
  const key = rng.pick(KEYS);
  const req: RangeRequest = { key, rangeEnd: rng.chance(0.3) ? undefined : rng.pick(ENDS) };
  if (rng.chance(0.4)) req.revision = rng.int(Math.max(0, model.compactRev - 2), model.rev + 1);
  if (rng.chance(0.3)) req.limit = rng.int(0, 4);
  if (rng.chance(0.3)) req.sortOrder = rng.pick(['NONE', 'ASCEND', 'DESCEND'] as const);
  if (rng.chance(0.3)) req.sortTarget = rng.pick(['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'] as const);
  if (rng.chance(0.1)) req.keysOnly = true;
  if (rng.chance(0.1)) req.countOnly = true;
  if (rng.chance(0.1)) req.minModRevision = rng.int(0, model.rev);
  if (rng.chance(0.1)) req.maxModRevision = rng.int(0, model.rev);
  if (rng.chance(0.1)) req.minCreateRevision = rng.int(0, model.rev);
  if (rng.chance(0.1)) req.maxCreateRevision = rng.int(0, model.rev);
  return req;
}

function randomCompare(rng: Rng, model: KvModel): Compare {
  const target = rng.pick(['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as const);
  const c: Compare = {
    key: rng.pick(KEYS),
    rangeEnd: rng.chance(0.2) ? rng.pick(ENDS) : undefined,
    target,
    result: rng.pick(['EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS'] as const),
  };
  if (target === 'VERSION') c.version = rng.int(0, 3);
  if (target === 'CREATE') c.createRevision = rng.int(0, model.rev);
  if (target === 'MOD') c.modRevision = rng.int(0, model.rev);
  if (target === 'VALUE') c.value = Buffer.from(`v${rng.int(0, 5)}`);
  if (target === 'LEASE') c.lease = BigInt(rng.int(0, 2));
  return c;
}

function randomOps(rng: Rng, model: KvModel, depth: number): RequestOp[] {
  const ops: RequestOp[] = [];
  const n = rng.int(0, 4);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < 0.4) ops.push({ put: { key: rng.pick(KEYS), value: Buffer.from(`v${rng.int(0, 5)}`), lease: BigInt(rng.int(0, 2)), prevKv: rng.chance(0.5), ignoreValue: rng.chance(0.05), ignoreLease: rng.chance(0.05) } });
    else if (r < 0.6) ops.push({ deleteRange: { key: rng.pick(KEYS), rangeEnd: rng.chance(0.5) ? undefined : rng.pick(ENDS), prevKv: rng.chance(0.5) } });
    else if (r < 0.85 || depth >= 2) ops.push({ range: randomRange(rng, model) });
    else ops.push({ txn: randomTxn(rng, model, depth + 1) });
  }
  return ops;
}

function randomTxn(rng: Rng, model: KvModel, depth = 0): TxnRequest {
  return {
    compare: Array.from({ length: rng.int(0, 2) }, () => randomCompare(rng, model)),
    success: randomOps(rng, model, depth),
    failure: randomOps(rng, model, depth),
  };
}

async function runModel(seed: number, steps: number, makeBackend: () => Backend): Promise<void> {
  const rng = new Rng(seed);
  const model = new KvModel();
  let backend = makeBackend();
  let store: KvStore = await openKvStore(backend, { scanBatchRecords: 7, compactionBatchRecords: 5 });
  const check = async (what: string, s: () => unknown, m: () => unknown) => {
    const [a, b] = [await outcome(s), await outcome(m)];
    assert.equal(a, b, `seed ${seed}: ${what}`);
  };
  try {
    for (let step = 0; step < steps; step++) {
      const r = rng.next();
      const label = `step ${step}`;
      if (r < 0.25) {
        const put = { key: rng.pick(KEYS), value: Buffer.from(`v${rng.int(0, 5)}`), prevKv: rng.chance(0.5) };
        await check(`${label} put`, () => store.put(put), () => {
          const res = model.txn({ compare: [], success: [{ put }], failure: [] });
          return (res.responses[0] as { put: unknown }).put;
        });
      } else if (r < 0.33) {
        const del = { key: rng.pick(KEYS), rangeEnd: rng.chance(0.5) ? undefined : rng.pick(ENDS), prevKv: rng.chance(0.5) };
        await check(`${label} delete`, () => store.deleteRange(del), () => {
          const res = model.txn({ compare: [], success: [{ deleteRange: del }], failure: [] });
          return (res.responses[0] as { deleteRange: unknown }).deleteRange;
        });
      } else if (r < 0.55) {
        const txn = randomTxn(rng, model);
        await check(`${label} txn ${JSON.stringify(plain(txn))}`, () => store.txn(txn), () => {
          // The store's static checks (duplicate keys) come first; mirror them through the store.
          return model.txn(txn);
        });
      } else if (r < 0.8) {
        const req = randomRange(rng, model);
        await check(`${label} range ${JSON.stringify(plain(req))}`, () => store.range(req), () => model.range(req));
      } else if (r < 0.88) {
        const from = rng.int(Math.max(1, model.compactRev - 1), model.rev + 1);
        const to = rng.int(from, model.rev + 2);
        const withPrevKv = rng.chance(0.5);
        await check(`${label} history ${from}-${to}`, () => store.history(from, to, { withPrevKv }), () => model.history(from, to, withPrevKv));
      } else if (r < 0.92) {
        const rev = rng.int(Math.max(0, model.compactRev - 1), model.rev + 1);
        const physical = rng.chance(0.5);
        await check(`${label} compact ${rev}`, async () => (await store.compact(rev, physical), null), () => (model.compact(rev), null));
      } else if (r < 0.95) {
        await store.close();
        backend = makeBackend();
        store = await openKvStore(backend, { scanBatchRecords: 7, compactionBatchRecords: 5 });
        assert.is(store.currentRevision(), model.rev, `seed ${seed}: ${label} revision after reopen`);
        assert.is(store.compactRevision(), model.compactRev, `seed ${seed}: ${label} compaction after reopen`);
      } else {
        // A burst of concurrent writers: group commit must keep revisions in submission order.
        const puts = Array.from({ length: rng.int(2, 8) }, () => ({ key: rng.pick(KEYS), value: Buffer.from(`v${rng.int(0, 5)}`) }));
        const results = await Promise.all(puts.map((p) => store.put(p)));
        for (const [i, p] of puts.entries()) {
          const res = model.txn({ compare: [], success: [{ put: p }], failure: [] });
          assert.is(results[i]!.revision, res.revision, `seed ${seed}: ${label} concurrent put ${i}`);
        }
      }
      assert.is(store.currentRevision(), model.rev, `seed ${seed}: ${label} revision`);
    }
  } finally {
    await store.close();
  }
}

test('store matches the model (memory backend, reopen keeps the data)', async () => {
  const seed = testSeed();
  for (let i = 0; i < 4; i++) {
    const mem = new MemoryBackend();
    await runModel(seed + i, 1500, () => mem);
  }
});

test('store matches the model on LevelDB across reopen', async () => {
  const seed = testSeed();
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-model-'));
  try {
    await runModel(seed, 800, () => new LevelBackend(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
