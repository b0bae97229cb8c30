/**
 * Reads and verifies a snapshot file (snapshot-format.ts) as a stream: the header, each batch of
 * records, and the trailer whose count and sha256 must match what was read. Anything else — not
 * a snapshot, another version, a file cut short, a flipped bit, bytes after the trailer — is
 * ERR_SNAPSHOT_INVALID with a message saying which. Records are handed out before the checksum
 * is known, so a caller that acts on them (restore) reads the file twice: verify, then apply.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { kvError, type WatchKvError } from '../errors.ts';
import {
  decodeHeader,
  HEADER_BYTES,
  MAX_FIELD_BYTES,
  RECORD_PREFIX_BYTES,
  RECORD_TAG,
  SNAPSHOT_MAGIC,
  SNAPSHOT_VERSION,
  TRAILER_BYTES,
  TRAILER_TAG,
  type SnapshotHeader,
} from './snapshot-format.ts';

export interface SnapshotSummary extends SnapshotHeader {
  records: number;
  bytes: number;
  sha256: string;
}

const READ_CHUNK_BYTES = 1024 * 1024;

function invalid(file: string, why: string): WatchKvError {
  return kvError('ERR_SNAPSHOT_INVALID', `snapshot ${file}: ${why}`);
}

/**
 * Verifies `file` whole, calling `onRecords` with each batch of [key, value] entries in file
 * order (awaited: the caller sets the pace). Resolves with the summary once the checksum matched.
 */
export async function readSnapshot(
  file: string,
  onRecords?: (entries: Array<[Buffer, Buffer]>, header: SnapshotHeader) => void | Promise<void>,
): Promise<SnapshotSummary> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw invalid(file, `cannot open: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const hash = createHash('sha256');
  try {
    const size = (await fh.stat()).size;
    let buf = Buffer.alloc(0);
    let offset = 0; // file offset of buf[0]
    let eof = false;
    /** Ensures buf holds at least n bytes; false at end of file. */
    const fill = async (n: number): Promise<boolean> => {
      while (buf.length < n && !eof) {
        const chunk = Buffer.allocUnsafe(Math.max(READ_CHUNK_BYTES, n - buf.length));
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, offset + buf.length);
        if (bytesRead === 0) eof = true;
        else buf = buf.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([buf, chunk.subarray(0, bytesRead)]);
      }
      return buf.length >= n;
    };
    const take = (n: number): Buffer => {
      const out = buf.subarray(0, n);
      hash.update(out);
      buf = buf.subarray(n);
      offset += n;
      return out;
    };

    const whole = await fill(HEADER_BYTES);
    const magicSeen = buf.subarray(0, Math.min(8, buf.length));
    if (size === 0) throw invalid(file, 'empty file');
    if (!magicSeen.equals(SNAPSHOT_MAGIC.subarray(0, magicSeen.length))) throw invalid(file, 'not a watchkv snapshot file (bad magic)');
    if (!whole) throw invalid(file, `truncated: ${size} bytes, shorter than the header`);
    const header = decodeHeader(take(HEADER_BYTES));
    if (header.version !== SNAPSHOT_VERSION) throw invalid(file, `unsupported snapshot version ${header.version} (this watchkv reads ${SNAPSHOT_VERSION})`);

    let records = 0;
    let batch: Array<[Buffer, Buffer]> = [];
    const flush = async () => {
      if (batch.length > 0 && onRecords) await onRecords(batch, header);
      batch = [];
    };
    for (;;) {
      if (!(await fill(1))) throw invalid(file, `truncated: ends at byte ${offset} without its trailer`);
      const tag = buf[0]!;
      if (tag === TRAILER_TAG) break;
      if (tag !== RECORD_TAG) throw invalid(file, `corrupted: unknown record tag ${tag} at byte ${offset}`);
      if (!(await fill(RECORD_PREFIX_BYTES))) throw invalid(file, `truncated: ends inside the record at byte ${offset}`);
      const keyLength = buf.readUInt32BE(1);
      const valueLength = buf.readUInt32BE(5);
      if (keyLength > MAX_FIELD_BYTES || valueLength > MAX_FIELD_BYTES) throw invalid(file, `corrupted: impossible record length at byte ${offset}`);
      const total = RECORD_PREFIX_BYTES + keyLength + valueLength;
      if (!(await fill(total))) throw invalid(file, `truncated: ends inside the record at byte ${offset}`);
      const rec = take(total);
      // Copies: `buf` is reused by the next read.
      batch.push([Buffer.from(rec.subarray(RECORD_PREFIX_BYTES, RECORD_PREFIX_BYTES + keyLength)), Buffer.from(rec.subarray(RECORD_PREFIX_BYTES + keyLength))]);
      records++;
      if (batch.length >= 1000) await flush();
    }
    await flush();
    if (!(await fill(TRAILER_BYTES))) throw invalid(file, `truncated: ends inside the trailer at byte ${offset}`);
    const countBytes = take(9);
    const expected = buf.subarray(0, 32);
    const actual = hash.digest();
    if (!actual.equals(expected)) throw invalid(file, 'corrupted: sha256 checksum mismatch');
    if (Number(countBytes.readBigUInt64BE(1)) !== records) throw invalid(file, 'corrupted: record count mismatch');
    if (offset + 32 !== size) throw invalid(file, `corrupted: ${size - offset - 32} unexpected bytes after the trailer`);
    return { ...header, records, bytes: size, sha256: actual.toString('hex') };
  } finally {
    await fh.close();
  }
}
