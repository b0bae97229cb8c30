/**
 * What one event held in the recent history really costs, against the estimate the history
 * bounds itself with (recent-history.ts eventCost): heap + array buffers after a forced GC,
 * before and after N events built as the write path builds them (one key Buffer per key, the
 * value decoded from base64 as the API does and copied as the store does, prevKv = the key's previous kv, the memoized wire
 * encoding a watcher adds), divided by N. Prints figures, asserts nothing.
 *
 *   node --import tsx bench/watch-history-memory.ts
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encodeEvent } from '../src/api/json.ts';
import { ownedCopy } from '../src/lib/owned-bytes.ts';
import type { Event, KeyValue } from '../src/mvcc/kv.ts';
import { eventCost, RecentHistory } from '../src/watch/recent-history.ts';
import { envInt, fmt } from './store-common.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const used = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

const n = envInt('HISTORY_BENCH_EVENTS', 200_000, 50_000);
for (const valueBytes of [4, 64, 1024]) {
  const keys = Array.from({ length: 500 }, (_, i) => Buffer.from(`/soak/${i % 100}/k${i}`));
  const latest = new Map<number, KeyValue>();
  const history = new RecentHistory(Number.MAX_SAFE_INTEGER, 1);
  const before = used();
  let estimate = 0;
  for (let rev = 1; rev <= n; rev++) {
    const k = rev % keys.length;
    const prev = latest.get(k);
    const value = ownedCopy(Buffer.from(Buffer.from('v'.repeat(valueBytes)).toString('base64'), 'base64'));
    const kv: KeyValue = { key: keys[k]!, createRevision: prev?.createRevision ?? rev, modRevision: rev, version: (prev?.version ?? 0) + 1, value, lease: 0n };
    latest.set(k, kv);
    const ev: Event = prev ? { type: 'PUT', kv, prevKv: prev } : { type: 'PUT', kv };
    encodeEvent(ev, false);
    estimate += eventCost(ev);
    history.append(rev, [ev]);
  }
  const real = (used() - before) / n;
  console.log(
    `recent history, ${fmt(n)} one-event revisions, ${valueBytes} B values: ${fmt(real)} B held per event, estimate ${fmt(estimate / n)} B (${fmt(real / (estimate / n), 2)}x)`,
  );
  if (history.size().events !== n) throw new Error('history dropped events');
}
