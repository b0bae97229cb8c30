/**
 * Writes a store snapshot to a file: the view is taken at once (KvStore.snapshot), then copied
 * in batches, each awaited, so writes go on meanwhile and the event loop is never held long.
 * The file is fsynced before the promise resolves.
 */
import { open } from 'node:fs/promises';
import type { StoreSnapshot } from '../mvcc/kv-store.ts';
import { SnapshotEncoder } from './snapshot-format.ts';

/** What a snapshot is taken from (the plain MVCC store). */
export interface SnapshotSource {
  snapshot(): Promise<StoreSnapshot>;
}

export interface WrittenSnapshot {
  revision: number;
  compactRevision: number;
  records: number;
  bytes: number;
  sha256: string;
}

/** entries: how many backend records one batch copies before yielding. */
const BATCH_RECORDS = 1000;

export async function writeSnapshotFile(source: SnapshotSource, file: string): Promise<WrittenSnapshot> {
  const snap = await source.snapshot();
  try {
    const fh = await open(file, 'wx');
    try {
      const enc = new SnapshotEncoder();
      let bytes = 0;
      const write = async (b: Buffer) => {
        await fh.write(b);
        bytes += b.length;
      };
      await write(enc.header({ revision: snap.revision, compactRevision: snap.compactRevision, createdMs: Date.now() }));
      for (;;) {
        const entries = await snap.records.next(BATCH_RECORDS);
        if (entries.length === 0) break;
        await write(enc.records(entries));
      }
      const t = enc.trailer();
      await write(t.bytes);
      await fh.sync();
      return { revision: snap.revision, compactRevision: snap.compactRevision, records: t.records, bytes, sha256: t.sha256 };
    } finally {
      await fh.close();
    }
  } finally {
    await snap.records.close();
  }
}
