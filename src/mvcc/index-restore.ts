import type { Backend } from '../backend/backend.ts';
import { scanPages } from '../backend/scan-pages.ts';
import { kvError } from '../errors.ts';
import { decodeRecord, RECORD_PREFIX, recordKey } from './kv-codec.ts';
import { KeyIndex } from './key-index.ts';
import { TreeIndex } from './tree-index.ts';

export interface RestoredIndex {
  index: TreeIndex;
  /** Highest main revision found in the records (0 when there are none). */
  lastRevision: number;
  records: number;
}

/**
 * Rebuilds the key index from every record, oldest first: one ordered scan, `batchRecords` at a
 * time, yielding to the event loop between batches so a large restore never stalls the process.
 * Each key's newest record becomes its cached `latest` kv. A record that does not decode means
 * the directory is not ours or is damaged: refuse it rather than guess.
 */
export async function restoreIndex(backend: Backend, batchRecords: number): Promise<RestoredIndex> {
  // Records come in revision order, so keys arrive shuffled: gather them in a hash map and
  // build the ordered tree once at the end, in key order.
  const byKey = new Map<string, KeyIndex>();
  let lastRevision = 0;
  let records = 0;
  const range = { gte: recordKey(0, 0), lt: Buffer.from([RECORD_PREFIX + 1]) };
  for await (const entries of scanPages(backend, range, batchRecords, true)) {
    for (const [key, value] of entries) {
      let rec;
      try {
        rec = decodeRecord(key, value);
      } catch (err) {
        throw kvError('ERR_CORRUPT', `data directory is corrupt: ${(err as Error).message}`, err);
      }
      const id = rec.kv.key.toString('latin1');
      let ki = byKey.get(id);
      if (!ki) {
        ki = new KeyIndex(Buffer.from(rec.kv.key));
        byKey.set(id, ki);
      }
      const rev = { main: rec.kv.modRevision, sub: rec.sub };
      if (rec.tombstone) {
        ki.restoreTombstone(rev);
        ki.latest = undefined;
      } else {
        ki.put(rev, rec.kv.createRevision, rec.kv.version);
        ki.latest = { ...rec.kv, key: ki.key };
      }
      lastRevision = rec.kv.modRevision;
      records++;
    }
  }
  // latin1 strings compare code unit by code unit, which is byte order.
  const ids = [...byKey.keys()].sort();
  const index = TreeIndex.fromSorted(ids.map((id) => byKey.get(id)!).filter((ki) => !ki.isEmpty()));
  return { index, lastRevision, records };
}
