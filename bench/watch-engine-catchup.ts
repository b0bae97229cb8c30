/**
 * Catch-up of a lagging watcher: 100,000 events are committed first (txns of 100 puts on the
 * MemoryBackend store), then watchers start from revision 2 and the sync loop replays the
 * history to them in bounded passes (syncMaxRevisionsPerPass). Measures the time until every
 * event has reached the sinks, for one all-keys watcher and for 100 prefix watchers at once.
 * Prints figures, asserts nothing.
 *
 *   node --import tsx bench/watch-engine-catchup.ts
 */
import { MemoryBackend } from '../src/backend/memory-backend.ts';
import type { RequestOp } from '../src/mvcc/kv.ts';
import { openKvStore } from '../src/mvcc/kv-store.ts';
import { WatchableStore } from '../src/watch/watchable-store.ts';
import { envInt, fmt, ms } from './store-common.ts';

const events = envInt('WATCH_BENCH_CATCHUP_EVENTS', 100_000, 20_000);
const value = Buffer.alloc(64, 'v');
const key = (i: number) => Buffer.from(`/c/${String(i % 100).padStart(2, '0')}/${String(i).padStart(7, '0')}`);

const kv = await openKvStore(new MemoryBackend());
const engine = new WatchableStore(kv, { syncIntervalMs: 10 });
const t0 = process.hrtime.bigint();
for (let i = 0; i < events; i += 100) {
  const success: RequestOp[] = Array.from({ length: Math.min(100, events - i) }, (_, j) => ({ put: { key: key(i + j), value } }));
  await kv.txn({ compare: [], success, failure: [] });
}
console.log(`catch-up: ${fmt(events)} events written in ${fmt(ms(t0))} ms (revisions 2..${engine.currentRevision()})`);

async function run(label: string, ranges: { key: Buffer; rangeEnd: Buffer }[]): Promise<void> {
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const want = events;
  const stream = engine.newStream({
    send: (r) => {
      got += r.events.length;
      if (got >= want) done();
      return true;
    },
  });
  const t = process.hrtime.bigint();
  for (const r of ranges) stream.create({ ...r, startRevision: 2, progressNotify: false, prevKv: false, noPut: false, noDelete: false, watchId: 0, fragment: false });
  await finished;
  const elapsed = ms(t);
  console.log(`  ${label}: ${fmt(elapsed)} ms, ${fmt(want / (elapsed / 1000))} events/s`);
  stream.close();
}

await run('1 all-keys watcher', [{ key: Buffer.from([0]), rangeEnd: Buffer.of(0) }]);
await run('100 prefix watchers (1,000 events each)', Array.from({ length: 100 }, (_, p) => {
  const k = Buffer.from(`/c/${String(p).padStart(2, '0')}/`);
  const e = Buffer.from(k);
  e[e.length - 1]!++;
  return { key: k, rangeEnd: e };
}));
await engine.close();
await kv.close();
