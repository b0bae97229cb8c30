/**
 * A snapshot as a sequence of blobs, the way etcd's Maintenance.Snapshot streams one: each blob
 * with the number of bytes that still follow it. Every transport (the gateway's streaming POST,
 * the gRPC stream) sends these; none of them knows how a snapshot is taken.
 *
 * The copy is first written to a temporary file, then read back blob by blob: the store's view
 * (a LevelDB snapshot pinning old tables) is released as fast as the disk allows, not as slowly
 * as the client reads, and `remaining` is exact from the first blob. The file is removed when
 * the iteration ends, however it ends (finished, abandoned, failed).
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSnapshotFile, type SnapshotSource, type WrittenSnapshot } from './snapshot-writer.ts';

/** bytes per blob, etcd's snapshotSendBufferSize. */
export const SNAPSHOT_BLOB_BYTES = 32 * 1024;

export interface SnapshotBlob {
  blob: Buffer;
  /** Bytes that follow this blob; 0 on the last one. */
  remaining: number;
}

export interface SnapshotChunks {
  /** What was written: revision, records, size, checksum. */
  written: WrittenSnapshot;
  blobs: AsyncGenerator<SnapshotBlob, void, undefined>;
}

/** Takes the snapshot now; the caller must iterate `blobs` (or call `blobs.return()`) to free it. */
export async function snapshotChunks(source: SnapshotSource, blobBytes = SNAPSHOT_BLOB_BYTES): Promise<SnapshotChunks> {
  const dir = await mkdtemp(join(tmpdir(), 'watchkv-snapshot-'));
  const file = join(dir, 'snapshot.wkv');
  let written: WrittenSnapshot;
  try {
    written = await writeSnapshotFile(source, file);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  async function* blobs(): AsyncGenerator<SnapshotBlob, void, undefined> {
    try {
      const fh = await open(file, 'r');
      try {
        let sent = 0;
        while (sent < written.bytes) {
          // A fresh buffer per blob: a transport may still hold the previous one in its queue.
          const chunk = Buffer.allocUnsafe(Math.min(blobBytes, written.bytes - sent));
          const { bytesRead } = await fh.read(chunk, 0, chunk.length, sent);
          if (bytesRead === 0) throw new Error(`snapshot file shrank at byte ${sent}`);
          sent += bytesRead;
          yield { blob: chunk.subarray(0, bytesRead), remaining: written.bytes - sent };
        }
      } finally {
        await fh.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { written, blobs: blobs() };
}
