/**
 * Heap cost of an idle watcher: the heap after a forced GC, before and after creating N synced
 * watchers (half single keys, half prefixes) spread over streams of 1,000, divided by N.
 * Includes the engine's routing entries (map / interval tree node) and the stream's id map.
 * Prints figures, asserts nothing.
 *
 *   node --import tsx bench/watch-engine-memory.ts
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryBackend } from '../src/backend/memory-backend.ts';
import { openKvStore } from '../src/mvcc/kv-store.ts';
import type { WatchStream } from '../src/watch/watch-api.ts';
import { WatchableStore } from '../src/watch/watchable-store.ts';
import { envInt, fmt } from './store-common.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const n = envInt('WATCH_BENCH_IDLE_WATCHERS', 100_000, 20_000);
const engine = new WatchableStore(await openKvStore(new MemoryBackend()));
const before = heap();
const streams: WatchStream[] = [];
for (let i = 0; i < n; i++) {
  if (i % 1000 === 0) streams.push(engine.newStream({ send: () => true }));
  const key = Buffer.from(`/idle/${String(i).padStart(7, '0')}`);
  const prefix = i % 2 === 1;
  const rangeEnd = prefix ? Buffer.concat([key, Buffer.from([0xff])]) : undefined;
  streams[streams.length - 1]!.create({ key, rangeEnd, startRevision: 0, progressNotify: false, prevKv: false, noPut: false, noDelete: false, watchId: 0, fragment: false });
}
const after = heap();
console.log(`idle watchers: ${fmt(n)} on ${streams.length} streams, ${fmt((after - before) / n)} bytes of heap per watcher (${fmt((after - before) / 2 ** 20, 1)} MiB total)`);
await engine.close();
