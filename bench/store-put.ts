/**
 * Durable put throughput of the store on LevelDB: every put is acknowledged only after its batch
 * is fsynced, so one writer pays a full fsync per put while 64 writers share them (group commit).
 *
 *   node --import tsx bench/store-put.ts
 *   STORE_BENCH_PUT_SECONDS=5 STORE_BENCH_WRITERS=1,16,64 node --import tsx bench/store-put.ts
 */
import { LevelBackend } from '../src/backend/level-backend.ts';
import { openKvStore } from '../src/mvcc/kv-store.ts';
import { envInt, fmt, ms, percentile, scratchDir } from './store-common.ts';

const seconds = envInt('STORE_BENCH_PUT_SECONDS', 5, 1);
const writerCounts = (process.env.STORE_BENCH_WRITERS ?? '1,64').split(',').map(Number);
const keys = envInt('STORE_BENCH_KEYS', 10_000, 1_000);
const value = Buffer.alloc(envInt('STORE_BENCH_VALUE_BYTES', 256), 'v');

console.log(`store put: ${seconds} s per run, ${fmt(keys)} keys, ${value.length} B values, LevelDB with fsync`);
for (const writers of writerCounts) {
  const { dir, remove } = scratchDir('put');
  const store = await openKvStore(new LevelBackend(dir));
  const latencies: number[] = [];
  let next = 0;
  const deadline = Date.now() + seconds * 1000;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (Date.now() < deadline) {
        const key = Buffer.from(`/bench/${String(next++ % keys).padStart(6, '0')}`);
        const t = process.hrtime.bigint();
        await store.put({ key, value });
        latencies.push(ms(t));
      }
    }),
  );
  const elapsedMs = ms(start);
  await store.close();
  remove();
  latencies.sort((a, b) => a - b);
  console.log(
    `  ${String(writers).padStart(3)} writer(s): ${fmt((latencies.length / elapsedMs) * 1000)} puts/s` +
      `  (latency p50 ${fmt(percentile(latencies, 50), 2)} ms, p99 ${fmt(percentile(latencies, 99), 2)} ms, ${fmt(latencies.length)} puts)`,
  );
}
