/**
 * Opening a data directory: check that it is ours (or empty: then mark it), read the compaction
 * progress, and rebuild the key index from the records. The store turns the result into its
 * state; nothing here keeps any.
 */
import type { Backend } from '../backend/backend.ts';
import { kvError } from '../errors.ts';
import { decodeMetaRevision } from './compaction.ts';
import { restoreIndex } from './index-restore.ts';
import { FORMAT_VERSION, META_FINISHED_COMPACT, META_FORMAT, META_SCHEDULED_COMPACT } from './kv-codec.ts';
import type { TreeIndex } from './tree-index.ts';

export interface StoreState {
  index: TreeIndex;
  /** The store's revision: the newest record's, never below the compaction revision. */
  revision: number;
  /** The scheduled (logical) compaction revision; 0 = none. */
  compactRev: number;
  /** True once any compaction was scheduled (etcd accepts compact(0) only before the first). */
  compactedOnce: boolean;
  /** A compaction was scheduled but its physical deletion did not finish: resume it. */
  compactionUnfinished: boolean;
}

export async function readStoreState(backend: Backend, scanBatchRecords: number): Promise<StoreState> {
  const format = await backend.get(META_FORMAT);
  if (format === undefined) {
    const any = await backend.scan({ limit: 1 });
    if (any.length > 0) throw kvError('ERR_CORRUPT', 'data directory holds data that is not watchkv\'s (no format record)');
    await backend.write([{ type: 'put', key: META_FORMAT, value: Buffer.from(FORMAT_VERSION) }]);
  } else if (format.toString() !== FORMAT_VERSION) {
    throw kvError('ERR_CORRUPT', `data directory has format "${format.toString().slice(0, 40)}", expected "${FORMAT_VERSION}"`);
  }
  let scheduled: number;
  let finished: number;
  const scheduledRecord = await backend.get(META_SCHEDULED_COMPACT);
  try {
    scheduled = decodeMetaRevision(scheduledRecord);
    finished = decodeMetaRevision(await backend.get(META_FINISHED_COMPACT));
  } catch (err) {
    throw kvError('ERR_CORRUPT', `data directory is corrupt: ${(err as Error).message}`, err);
  }
  const restored = await restoreIndex(backend, Math.max(scanBatchRecords, 10_000));
  return {
    index: restored.index,
    // A tombstone at the compaction revision is compacted away with its key, so the newest
    // record can be older than the newest revision: the revision never goes below compactRev.
    revision: Math.max(restored.lastRevision, scheduled, 1),
    compactRev: scheduled,
    compactedOnce: scheduledRecord !== undefined,
    compactionUnfinished: scheduled > finished,
  };
}
