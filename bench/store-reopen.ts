/**
 * Time to reopen a LevelDB store of many keys (default 1,000,000): opening rebuilds the in-memory
 * key index from every record, so this is the restart cost of the server. The store is built
 * with big txns first (timed too), then closed and reopened.
 *
 *   node --import tsx bench/store-reopen.ts
 *   STORE_BENCH_REOPEN_KEYS=100000 node --import tsx bench/store-reopen.ts
 */
import { LevelBackend } from '../src/backend/level-backend.ts';
import type { RequestOp } from '../src/mvcc/kv.ts';
import { openKvStore } from '../src/mvcc/kv-store.ts';
import { envInt, fmt, ms, scratchDir } from './store-common.ts';

const totalKeys = envInt('STORE_BENCH_REOPEN_KEYS', 1_000_000, 100_000);
const opsPerTxn = envInt('STORE_BENCH_REOPEN_OPS_PER_TXN', 1000);
const value = Buffer.alloc(envInt('STORE_BENCH_VALUE_BYTES', 64), 'v');
const inFlight = 8;
const key = (i: number) => Buffer.from(`/bench/reopen/${String(i).padStart(8, '0')}`);

const { dir, remove } = scratchDir('reopen');
try {
  const buildStart = process.hrtime.bigint();
  const store = await openKvStore(new LevelBackend(dir), { maxTxnOps: opsPerTxn, maxRequestBytes: 64 * 1024 * 1024 });
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < totalKeys) {
        const from = next;
        next = Math.min(totalKeys, next + opsPerTxn);
        const success: RequestOp[] = [];
        for (let i = from; i < next; i++) success.push({ put: { key: key(i), value } });
        await store.txn({ compare: [], success, failure: [] });
      }
    }),
  );
  const revision = store.currentRevision();
  const size = await store.dbSize();
  await store.close();
  const buildMs = ms(buildStart);
  console.log(
    `store reopen: built ${fmt(totalKeys)} keys (${value.length} B values) in ${fmt(totalKeys / opsPerTxn)} txns of ${opsPerTxn}` +
      ` in ${fmt(buildMs / 1000, 1)} s (${fmt((totalKeys / buildMs) * 1000)} keys/s), revision ${fmt(revision)}, ~${fmt(size / 1024 / 1024, 1)} MiB`,
  );

  const heapBefore = process.memoryUsage().heapUsed;
  const openStart = process.hrtime.bigint();
  const reopened = await openKvStore(new LevelBackend(dir));
  const openMs = ms(openStart);
  const heapAfter = process.memoryUsage().heapUsed;
  const check = await reopened.range({ key: key(totalKeys - 1) });
  if (check.kvs.length !== 1 || reopened.currentRevision() !== revision) throw new Error('reopened store lost data');
  const count = (await reopened.range({ key: Buffer.from('/bench/reopen/'), rangeEnd: Buffer.from('/bench/reopen0'), countOnly: true })).count;
  await reopened.close();
  console.log(
    `  reopen: ${fmt(openMs)} ms for ${fmt(count)} keys (${fmt((count / openMs) * 1000)} keys/s), heap +${fmt((heapAfter - heapBefore) / 1024 / 1024, 1)} MiB`,
  );
} finally {
  remove();
}
