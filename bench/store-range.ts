/**
 * Range read latency of the store on LevelDB: a single key, and 1,000 consecutive keys, at the
 * current revision, one request at a time (latency) and then 32 at once (throughput).
 *
 *   node --import tsx bench/store-range.ts
 *   STORE_BENCH_RANGE_KEYS=100000 STORE_BENCH_RANGE_REQUESTS=2000 node --import tsx bench/store-range.ts
 */
import { LevelBackend } from '../src/backend/level-backend.ts';
import type { RequestOp } from '../src/mvcc/kv.ts';
import { openKvStore } from '../src/mvcc/kv-store.ts';
import { envInt, fmt, ms, percentile, scratchDir } from './store-common.ts';

const totalKeys = envInt('STORE_BENCH_RANGE_KEYS', 20_000, 5_000);
const requests = envInt('STORE_BENCH_RANGE_REQUESTS', 2_000, 300);
const span = 1_000;
const value = Buffer.alloc(256, 'v');
const key = (i: number) => Buffer.from(`/bench/${String(i).padStart(7, '0')}`);

const { dir, remove } = scratchDir('range');
const store = await openKvStore(new LevelBackend(dir), { maxTxnOps: 1000 });
for (let i = 0; i < totalKeys; i += 1000) {
  const success: RequestOp[] = [];
  for (let j = i; j < Math.min(totalKeys, i + 1000); j++) success.push({ put: { key: key(j), value } });
  await store.txn({ compare: [], success, failure: [] });
}
// Reopen so reads come from LevelDB, not from anything the writes left in memory.
await store.close();
const reader = await openKvStore(new LevelBackend(dir));
console.log(`store range: ${fmt(totalKeys)} keys of ${value.length} B, ${fmt(requests)} requests per case`);

let seed = 1;
const rand = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);

async function measure(label: string, oneRequest: () => Promise<unknown>, concurrency: number): Promise<void> {
  const latencies: number[] = [];
  let left = requests;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const t = process.hrtime.bigint();
        await oneRequest();
        latencies.push(ms(t));
      }
    }),
  );
  const elapsed = ms(start);
  latencies.sort((a, b) => a - b);
  console.log(
    `  ${label.padEnd(28)} c=${String(concurrency).padEnd(3)} ${fmt((requests / elapsed) * 1000).padStart(8)} req/s` +
      `  p50 ${fmt(percentile(latencies, 50), 3)} ms  p99 ${fmt(percentile(latencies, 99), 3)} ms`,
  );
}

const one = () => reader.range({ key: key(Math.floor(rand() * totalKeys)) });
const many = () => {
  const from = Math.floor(rand() * (totalKeys - span));
  return reader.range({ key: key(from), rangeEnd: key(from + span) });
};
const sample = await many();
if (sample.kvs.length !== span) throw new Error(`expected ${span} kvs, got ${sample.kvs.length}`);
for (const c of [1, 32]) {
  await measure('range 1 key', one, c);
  await measure(`range ${fmt(span)} keys`, many, c);
}
await reader.close();
remove();
