import type { Backend } from '../backend/backend.ts';
import { scanPages } from '../backend/scan-pages.ts';
import { kvError } from '../errors.ts';
import { decodeCheckpoint, type CheckpointStore } from './index-checkpoint.ts';
import { KeyIndex } from './key-index.ts';
import { META_INDEX_CHECKPOINT, RECORD_HEADER_BYTES, RECORD_KEY_LENGTH_OFFSET, RECORD_PREFIX, recordKey } from './kv-codec.ts';
import { readRevision } from './revision.ts';
import { TreeIndex } from './tree-index.ts';

export interface RestoredIndex {
  index: TreeIndex;
  /** Highest main revision found in the records or the checkpoint (0 when there are none). */
  lastRevision: number;
  /** The index is already compacted at this revision (checkpoint), 0 when not. */
  compactedAt: number;
  /** Records read from the backend (the tail after a checkpoint, or all of them). */
  records: number;
  /** Why the checkpoint was not used, when there was one to consider. */
  checkpointRejected?: string;
  fromCheckpoint: boolean;
}

/** What a long open reports every few seconds and once at the end. */
export interface RestoreProgress {
  phase: 'checkpoint' | 'scan' | 'done';
  /** Records read from the backend so far. */
  records: number;
  /** Keys in the index so far. */
  keys: number;
  elapsedMs: number;
  /** When the checkpoint was set aside: why (the open then rebuilds from every record). */
  checkpointRejected?: string;
}

export interface RestoreOptions {
  batchRecords: number;
  checkpoint?: CheckpointStore | null;
  /**
   * The scheduled compaction revision. A checkpoint older than it is set aside: that compaction
   * may have removed records of the tail, and a tail with holes does not replay exactly.
   */
  scheduledCompactRevision?: number;
  onProgress?: (p: RestoreProgress) => void;
  progressIntervalMs?: number;
}

/**
 * Builds the key index: from the checkpoint when there is a valid one, then the records after
 * it, oldest first; else from every record. One ordered scan, `batchRecords` at a time,
 * yielding to the event loop between batches so a large restore never stalls the process.
 * Each key's newest put record stays packed as its `latest` (decoded on first read). A record
 * that does not decode means the directory is not ours or is damaged: refuse it rather than
 * guess. Keys outside the record prefix (meta, leases, ...) are never read here.
 */
export async function restoreIndex(backend: Backend, options: RestoreOptions): Promise<RestoredIndex> {
  const t0 = performance.now();
  const interval = options.progressIntervalMs ?? 2000;
  let nextReport = t0 + interval;
  let rejected: string | undefined;
  let base: { index: TreeIndex; revision: number; compactRevision: number } | undefined;
  if (options.checkpoint) {
    try {
      const meta = await backend.get(META_INDEX_CHECKPOINT);
      const data = meta && (await options.checkpoint.read());
      if (meta && !data) rejected = 'checkpoint file is missing';
      else if (meta && data) {
        const decoded = decodeCheckpoint(data, meta);
        const scheduled = options.scheduledCompactRevision ?? 0;
        if (scheduled > decoded.revision) rejected = `a compaction at ${scheduled}, after the checkpoint's revision ${decoded.revision}, may have removed records it needs`;
        else base = decoded;
      }
    } catch (err) {
      rejected = (err as Error).message;
    }
    if (base) options.onProgress?.({ phase: 'checkpoint', records: 0, keys: base.index.size, elapsedMs: performance.now() - t0 });
  }

  // Without a checkpoint, records come in revision order, so keys arrive shuffled: gather them
  // in a hash map and build the ordered tree once at the end, in key order. After one, the tail
  // is short: insert into the tree directly.
  const byKey = base ? undefined : new Map<string, KeyIndex>();
  const index = base?.index;
  let lastRevision = base?.revision ?? 0;
  let records = 0;
  const range = { gte: recordKey(lastRevision + 1, 0), lt: Buffer.from([RECORD_PREFIX + 1]) };
  for await (const entries of scanPages(backend, range, options.batchRecords, true)) {
    for (const [key, value] of entries) {
      if (key.length !== 17 || value.length < RECORD_HEADER_BYTES) throw corrupt(`malformed record at key ${key.toString('hex')}`);
      const { main, sub } = readRevision(key, 1);
      const keyLength = value.readUInt32BE(RECORD_KEY_LENGTH_OFFSET);
      const flags = value[0]!;
      if (RECORD_HEADER_BYTES + keyLength > value.length || (flags & ~1) !== 0) throw corrupt(`malformed record at revision ${main}.${sub}`);
      let ki: KeyIndex | undefined;
      if (byKey) {
        const id = value.toString('latin1', RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + keyLength);
        ki = byKey.get(id);
        // The key stays in the record's own buffer, which `latest` keeps anyway while live.
        if (!ki) byKey.set(id, (ki = new KeyIndex(value, RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + keyLength)));
      } else {
        ki = index!.lookupOrCreate(value.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + keyLength));
      }
      const rev = { main, sub };
      if ((flags & 1) !== 0) {
        ki.restoreTombstone(rev);
      } else {
        ki.put(rev, value.readUIntBE(1, 6), value.readUIntBE(7, 6));
        ki.setPackedLatest(value, 0, value.length);
      }
      lastRevision = main;
      records++;
    }
    if (options.onProgress && performance.now() >= nextReport) {
      nextReport = performance.now() + interval;
      options.onProgress({ phase: 'scan', records, keys: byKey ? byKey.size : index!.size, elapsedMs: performance.now() - t0 });
    }
  }
  let result: TreeIndex;
  if (byKey) {
    // latin1 strings compare code unit by code unit, which is byte order.
    const ids = [...byKey.keys()].sort();
    const sorted: KeyIndex[] = [];
    for (const id of ids) {
      const ki = byKey.get(id)!;
      if (ki.isEmpty()) continue;
      ki.trim();
      sorted.push(ki);
    }
    result = TreeIndex.fromSorted(sorted);
  } else {
    result = index!;
  }
  options.onProgress?.({
    phase: 'done',
    records,
    keys: result.size,
    elapsedMs: performance.now() - t0,
    ...(rejected ? { checkpointRejected: rejected } : {}),
  });
  return {
    index: result,
    lastRevision,
    compactedAt: base?.compactRevision ?? 0,
    records,
    fromCheckpoint: base !== undefined,
    ...(rejected ? { checkpointRejected: rejected } : {}),
  };
}

function corrupt(message: string): Error {
  return kvError('ERR_CORRUPT', `data directory is corrupt: ${message}`);
}
