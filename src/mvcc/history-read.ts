/**
 * History reads: the changes of a span of revisions, straight from the records (which are keyed
 * by revision, so a span is one range scan), grouped by revision, optionally with each event's
 * previous kv. The watch layer's catch-up reads through here.
 */
import type { Backend } from '../backend/backend.ts';
import { scanPages } from '../backend/scan-pages.ts';
import { kvError } from '../errors.ts';
import { decodeRecord, recordKey } from './kv-codec.ts';
import type { KeyAt, KeyIndex } from './key-index.ts';
import type { Event, KeyValue, RevisionChanges } from './kv.ts';
import type { ValueSource } from './range-query.ts';

/** What a history read needs from the store. */
export interface HistoryHost extends ValueSource {
  compactRevision(): number;
  /** The highest durable revision: a read never goes past it. */
  currentRevision(): number;
}

/** HistoryReader.history (kv.ts), for a store whose records live in `backend`. */
export async function readHistory(
  backend: Backend,
  host: HistoryHost,
  fromRevision: number,
  toRevision: number,
  options: { maxRevisions?: number; withPrevKv?: boolean },
  batchRecords: number,
): Promise<RevisionChanges[]> {
  // Every record of the compaction revision itself survives (see KeyIndex.compact).
  if (fromRevision < host.compactRevision()) throw kvError('ERR_COMPACTED');
  const to = Math.min(toRevision, host.currentRevision());
  const maxRevisions = options.maxRevisions ?? Number.MAX_SAFE_INTEGER;
  const out: RevisionChanges[] = [];
  if (fromRevision > to) return out;
  scan: for await (const entries of scanPages(backend, { gte: recordKey(fromRevision, 0), lt: recordKey(to + 1, 0) }, batchRecords)) {
    for (const [key, value] of entries) {
      const rec = decodeRecord(key, value);
      const main = rec.kv.modRevision;
      let last = out[out.length - 1];
      if (!last || last.revision !== main) {
        if (out.length === maxRevisions) break scan;
        last = { revision: main, events: [] };
        out.push(last);
      }
      last.events.push({ type: rec.tombstone ? 'DELETE' : 'PUT', kv: rec.kv });
    }
  }
  if (fromRevision < host.compactRevision()) throw kvError('ERR_COMPACTED'); // compacted while we read
  if (options.withPrevKv) await attachPrevKvs(host, out);
  return out;
}

/**
 * Fills each event's prevKv: the key's kv at revision-1. Within the batch the previous event
 * on the same key answers directly; the first event of each key asks the index.
 */
async function attachPrevKvs(host: HistoryHost, changes: RevisionChanges[]): Promise<void> {
  // Key → its kv after the revisions already walked (null = deleted). A revision's events
  // read the state before that revision, so the map is updated only once a revision is done.
  const lastSeen = new Map<string, KeyValue | null>();
  const toLoad: Array<{ ki: KeyIndex; at: KeyAt; ev: { events: Event[]; i: number } }> = [];
  const compactRev = host.compactRevision();
  for (const rc of changes) {
    const after: Array<[string, KeyValue | null]> = [];
    rc.events.forEach((ev, i) => {
      const id = ev.kv.key.toString('latin1');
      const seen = lastSeen.get(id);
      let prev: KeyValue | undefined;
      if (seen !== undefined) prev = seen ?? undefined;
      else if (rc.revision - 1 >= compactRev) {
        const ki = host.index.lookup(ev.kv.key);
        const at = ki?.get(rc.revision - 1);
        if (ki && at) {
          prev = host.cached(ki, at);
          if (!prev) toLoad.push({ ki, at, ev: { events: rc.events, i } });
        }
      }
      if (prev) rc.events[i] = { type: ev.type, kv: ev.kv, prevKv: prev };
      after.push([id, ev.type === 'DELETE' ? null : ev.kv]);
    });
    for (const [id, kv] of after) lastSeen.set(id, kv);
  }
  if (toLoad.length === 0) return;
  const kvs = await host.load(toLoad);
  toLoad.forEach(({ ev }, j) => {
    const old = ev.events[ev.i]!;
    ev.events[ev.i] = { type: old.type, kv: old.kv, prevKv: kvs[j]! };
  });
}
