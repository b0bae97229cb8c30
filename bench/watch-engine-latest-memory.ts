/**
 * Memory of stalled latest-value watchers (issue 17): 100 watchers on a hot prefix whose
 * streams never read, while 1,000 puts/s rewrite 10,000 keys under it for 60 s. Each mode runs
 * in its own child process (so their heaps do not mix) and reports the process RSS growth and
 * the engine's held events; exact-mode watchers are measured the same way for comparison.
 * The store's own history grows the same in both modes (memory backend, no compaction).
 * Prints figures, asserts nothing.
 *
 *   node --import tsx bench/watch-engine-latest-memory.ts
 *   WATCH_BENCH_LATEST_SECONDS=5 ... (BENCH_QUICK=1: 3 s)
 */
import { spawnSync } from 'node:child_process';
import { MemoryBackend } from '../src/backend/memory-backend.ts';
import { openKvStore } from '../src/mvcc/kv-store.ts';
import { WatchableStore } from '../src/watch/watchable-store.ts';
import { envInt, fmt } from './store-common.ts';

const seconds = envInt('WATCH_BENCH_LATEST_SECONDS', 60, 3);
const keys = envInt('WATCH_BENCH_LATEST_KEYS', 10_000, 10_000);
const watchers = envInt('WATCH_BENCH_LATEST_WATCHERS', 100, 100);
const putsPerSecond = 1000;

const mode = process.argv[2];
if (mode === 'exact' || mode === 'latest') {
  const kv = await openKvStore(new MemoryBackend());
  const engine = new WatchableStore(kv);
  for (let i = 0; i < keys; i++) await kv.put({ key: Buffer.from(`/hot/${i}`), value: Buffer.from('seed') });
  for (let i = 0; i < watchers; i++) {
    // A stream that never reads: every response is refused.
    engine.newStream({ send: () => false }).create({
      key: Buffer.from('/hot/'),
      rangeEnd: Buffer.from('/hot0'),
      startRevision: 0,
      progressNotify: false,
      prevKv: false,
      noPut: false,
      noDelete: false,
      watchId: 0,
      fragment: false,
      delivery: mode === 'latest' ? 'latest' : undefined,
    });
  }
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const value = Buffer.alloc(64, 'v');
  let n = 0;
  const started = Date.now();
  // Paced in ticks of 10 ms; the writes of a tick are awaited before the next tick.
  while (Date.now() - started < seconds * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * putsPerSecond);
    while (n < due) await kv.put({ key: Buffer.from(`/hot/${Math.floor(Math.random() * keys)}`), value: Buffer.concat([value, Buffer.from(String(n++))]) });
    await new Promise((r) => setTimeout(r, 10));
  }
  global.gc?.();
  const s = engine.stats();
  const rss1 = process.memoryUsage().rss;
  console.log(JSON.stringify({ mode, puts: n, rssGrowth: rss1 - rss0, heldEvents: s.pendingEvents, victims: s.victims, coalescing: s.coalescing }));
  await engine.close();
  await kv.close();
} else {
  console.log(`${watchers} stalled watchers on a prefix of ${fmt(keys)} keys, ${fmt(putsPerSecond)} puts/s for ${seconds} s`);
  for (const m of ['exact', 'latest']) {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', new URL(import.meta.url).pathname, m], { encoding: 'utf8', env: process.env });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    try {
      const o = JSON.parse(line);
      console.log(`  ${m.padEnd(6)}: ${fmt(o.puts)} puts, RSS +${fmt(o.rssGrowth / 2 ** 20, 1)} MiB, engine holds ${fmt(o.heldEvents)} events (${o.victims} victims, ${o.coalescing} coalescing)`);
    } catch {
      console.log(`  ${m}: failed: ${r.stderr.slice(0, 500)}`);
    }
  }
}
