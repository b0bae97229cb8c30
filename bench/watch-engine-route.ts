/**
 * Events per second routed by the watch engine to 1,000 and 10,000 synced watchers (a mix of
 * single-key, prefix and from-key watchers), on the MemoryBackend store so the figure is the
 * engine's, not the disk's. Two figures per size:
 *   - route only: WatcherGroup.route() over pre-built events (the hot path's lookup alone);
 *   - end to end: txns of 100 puts through the store, every matching event offered to a sink.
 * Prints figures, asserts nothing.
 *
 *   node --import tsx bench/watch-engine-route.ts
 */
import { MemoryBackend } from '../src/backend/memory-backend.ts';
import type { Event, RequestOp } from '../src/mvcc/kv.ts';
import { openKvStore } from '../src/mvcc/kv-store.ts';
import type { WatchResponse } from '../src/watch/watch-api.ts';
import { WatchableStore } from '../src/watch/watchable-store.ts';
import { Watcher, type WatcherStreamRef } from '../src/watch/watcher.ts';
import { WatcherGroup } from '../src/watch/watcher-group.ts';
import { envInt, fmt, ms } from './store-common.ts';

const KEYS = 10_000;
const key = (i: number) => Buffer.from(`/k/${String(i % KEYS).padStart(5, '0')}`);
const sizes = (process.env.WATCH_BENCH_WATCHERS ?? '1000,10000').split(',').map(Number);
const txns = envInt('WATCH_BENCH_TXNS', 300, 50);
const value = Buffer.alloc(64, 'v');

/** Watcher i: 80 % single keys, 15 % prefixes of 100 keys, 5 % from a key to the end. */
function shape(i: number): { key: Buffer; end: Buffer | null | undefined; rangeEnd?: Buffer } {
  const r = i % 20;
  const k = (i * 7919) % KEYS;
  if (r < 16) return { key: key(k), end: undefined };
  if (r < 19) {
    const p = Buffer.from(`/k/${String(k).padStart(5, '0').slice(0, 3)}`);
    const e = Buffer.from(p);
    e[e.length - 1]!++;
    return { key: p, end: e, rangeEnd: e };
  }
  return { key: key(KEYS - 1 - (k % 50)), end: null, rangeEnd: Buffer.of(0) };
}

function routeOnly(n: number): void {
  const stream: WatcherStreamRef = { offer: (r) => r.length, cancelCompacted: () => {}, notice: () => {} };
  const group = new WatcherGroup();
  for (let i = 0; i < n; i++) {
    const s = shape(i);
    group.add(new Watcher(i, stream, s.key, s.end, 1, false, false, false, false, false));
  }
  const revs = 2_000;
  const batches: Event[][] = [];
  for (let r = 0; r < revs; r++) {
    batches.push(Array.from({ length: 10 }, (_, j) => ({ type: 'PUT' as const, kv: { key: key(r * 10 + j * 37), createRevision: r + 2, modRevision: r + 2, version: 1, value, lease: 0n } })));
  }
  let matches = 0;
  const t = process.hrtime.bigint();
  for (let r = 0; r < revs; r++) for (const evs of group.route(r + 2, batches[r]!).values()) matches += evs.length;
  const elapsed = ms(t);
  console.log(`  ${fmt(n)} watchers, route only: ${fmt((revs * 10) / (elapsed / 1000))} events/s in, ${fmt(matches / (elapsed / 1000))} deliveries/s (${fmt(matches / (revs * 10), 1)} watchers per event)`);
}

async function endToEnd(n: number): Promise<void> {
  const kv = await openKvStore(new MemoryBackend());
  const engine = new WatchableStore(kv);
  let delivered = 0;
  const streams = Array.from({ length: Math.ceil(n / 1000) }, () =>
    engine.newStream({ send: (r: WatchResponse) => ((delivered += r.events.length), true) }),
  );
  for (let i = 0; i < n; i++) {
    const s = shape(i);
    streams[i % streams.length]!.create({ key: s.key, rangeEnd: s.rangeEnd, startRevision: 0, progressNotify: false, prevKv: false, noPut: false, noDelete: false, watchId: 0, fragment: false });
  }
  const t = process.hrtime.bigint();
  for (let x = 0; x < txns; x++) {
    const success: RequestOp[] = Array.from({ length: 100 }, (_, j) => ({ put: { key: key(x * 100 + j * 13), value } }));
    await kv.txn({ compare: [], success, failure: [] });
  }
  const elapsed = ms(t);
  console.log(`  ${fmt(n)} watchers, end to end: ${fmt((txns * 100) / (elapsed / 1000))} events/s committed and routed, ${fmt(delivered / (elapsed / 1000))} deliveries/s`);
  await engine.close();
  await kv.close();
}

console.log('watch engine routing (mix: 80 % keys, 15 % prefixes, 5 % from-key)');
for (const n of sizes) routeOnly(n);
for (const n of sizes) await endToEnd(n);
