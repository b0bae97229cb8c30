import type { Backend, BatchOp } from '../backend/backend.ts';
import { scanPages } from '../backend/scan-pages.ts';
import { META_FINISHED_COMPACT, recordKey, recordKeyRevision } from './kv-codec.ts';
import { revisionKey } from './revision.ts';

export function encodeMetaRevision(revision: number): Buffer {
  return Buffer.from(String(revision), 'utf8');
}

export function decodeMetaRevision(value: Buffer | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value.toString('utf8'));
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad revision meta record ${value.toString('hex')}`);
  return n;
}

/**
 * Physical compaction at `revision`: deletes every record at or below it that `keep` does not
 * name, `batchRecords` at a time, yielding between batches so live watchers and writers are
 * never stalled; then records the compaction as finished. The caller recorded it as scheduled
 * first, so a crash part-way leaves scheduled > finished and the store runs it again on open
 * (deleting twice is harmless). `stopped()` lets close() end it at a batch boundary.
 */
export async function deleteCompacted(
  backend: Backend,
  revision: number,
  keep: ReadonlySet<string>,
  batchRecords: number,
  stopped: () => boolean,
): Promise<boolean> {
  for await (const entries of scanPages(backend, { gte: recordKey(0, 0), lt: recordKey(revision + 1, 0) }, batchRecords, true)) {
    if (stopped()) return false;
    const dels: BatchOp[] = [];
    for (const [key] of entries) {
      const { main, sub } = recordKeyRevision(key);
      if (!keep.has(revisionKey(main, sub))) dels.push({ type: 'del', key });
    }
    if (dels.length > 0) await backend.write(dels);
  }
  if (stopped()) return false;
  await backend.write([{ type: 'put', key: META_FINISHED_COMPACT, value: encodeMetaRevision(revision) }]);
  return true;
}
