/**
 * The snapshot file: a framed, checksummed copy of every backend record at one revision.
 *
 *   header   magic "WKVSNAP\n"(8) | version u32 | revision u64 | compactRevision u64 | createdMs u64
 *   record*  0x01 | keyLength u32 | valueLength u32 | key | value        (backend key order)
 *   trailer  0x00 | records u64 | sha256(32)
 *
 * Integers are big-endian. The sha256 covers every byte before it (header, records, the trailer's
 * tag and count), so a flipped bit anywhere is caught, and a file cut short lacks its trailer.
 * Records are the backend's raw entries (MVCC revisions, meta, and any other room's records such
 * as leases), so a restore reproduces the data directory's content without knowing its layout.
 */
import { createHash, type Hash } from 'node:crypto';

export const SNAPSHOT_MAGIC = Buffer.from('WKVSNAP\n', 'latin1');
export const SNAPSHOT_VERSION = 1;
export const HEADER_BYTES = 8 + 4 + 8 + 8 + 8;
export const RECORD_TAG = 0x01;
export const TRAILER_TAG = 0x00;
/** tag + key length + value length */
export const RECORD_PREFIX_BYTES = 1 + 4 + 4;
export const TRAILER_BYTES = 1 + 8 + 32;
/** bytes: a key or value longer than this is taken as corruption, not read (LevelDB has no limit, watchkv's requests do). */
export const MAX_FIELD_BYTES = 256 * 1024 * 1024;

export interface SnapshotHeader {
  version: number;
  revision: number;
  compactRevision: number;
  createdMs: number;
}

/** Encodes a snapshot piece by piece, hashing as it goes. */
export class SnapshotEncoder {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;

  header(h: Omit<SnapshotHeader, 'version'>): Buffer {
    const buf = Buffer.alloc(HEADER_BYTES);
    SNAPSHOT_MAGIC.copy(buf, 0);
    buf.writeUInt32BE(SNAPSHOT_VERSION, 8);
    buf.writeBigUInt64BE(BigInt(h.revision), 12);
    buf.writeBigUInt64BE(BigInt(h.compactRevision), 20);
    buf.writeBigUInt64BE(BigInt(h.createdMs), 28);
    this.hash.update(buf);
    return buf;
  }

  /** One buffer holding all the entries' records. */
  records(entries: ReadonlyArray<readonly [Buffer, Buffer]>): Buffer {
    let size = 0;
    for (const [k, v] of entries) size += RECORD_PREFIX_BYTES + k.length + v.length;
    const buf = Buffer.allocUnsafe(size);
    let at = 0;
    for (const [k, v] of entries) {
      buf[at] = RECORD_TAG;
      buf.writeUInt32BE(k.length, at + 1);
      buf.writeUInt32BE(v.length, at + 5);
      k.copy(buf, at + RECORD_PREFIX_BYTES);
      v.copy(buf, at + RECORD_PREFIX_BYTES + k.length);
      at += RECORD_PREFIX_BYTES + k.length + v.length;
    }
    this.count += entries.length;
    this.hash.update(buf);
    return buf;
  }

  /** The trailer; returns it with the hex checksum. */
  trailer(): { bytes: Buffer; sha256: string; records: number } {
    const head = Buffer.alloc(9);
    head[0] = TRAILER_TAG;
    head.writeBigUInt64BE(BigInt(this.count), 1);
    this.hash.update(head);
    const digest = this.hash.digest();
    return { bytes: Buffer.concat([head, digest]), sha256: digest.toString('hex'), records: this.count };
  }
}

export function decodeHeader(buf: Buffer): SnapshotHeader {
  return {
    version: buf.readUInt32BE(8),
    revision: Number(buf.readBigUInt64BE(12)),
    compactRevision: Number(buf.readBigUInt64BE(20)),
    createdMs: Number(buf.readBigUInt64BE(28)),
  };
}
