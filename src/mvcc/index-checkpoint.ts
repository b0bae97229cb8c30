import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { checkGenerations, KeyIndex } from './key-index.ts';
import { deletedKv, encodeRecordInto, RECORD_HEADER_BYTES, RECORD_KEY_LENGTH_OFFSET, recordLength } from './kv-codec.ts';
import { TreeIndex } from './tree-index.ts';

/**
 * The index checkpoint: the whole in-memory key index, written at a clean close, so the next
 * open loads it and replays only the records after it (the "tail") instead of every record.
 *
 * File layout (all integers big-endian; "v" = unsigned LEB128 varint):
 *
 *   "WKVIDX01" | revision u64 | compactRevision u64 | keys u32
 *   per key, in key order:  v(n) | n × v(generation numbers) | v(len) | len bytes: the key's record
 *   crc32 of all the above, u32
 *
 * The generation numbers are KeyIndex's flat array. The record is the key's newest put record
 * (kv-codec's record value) when the key is live, else a tombstone record that carries the key;
 * the key itself is read from it, so it is stored once. The loaded index keeps views into the
 * file's buffer (keys and packed newest kvs), so it costs no copy per key.
 *
 * Safety — a checkpoint is used only when all of these hold, else the index is rebuilt from the
 * records (never a wrong index):
 *  - The backend's meta record META_INDEX_CHECKPOINT names this exact file (revision, length,
 *    crc). It is written after the file is renamed into place, so a crash between the two, a
 *    file from another directory or an older file leaves a mismatch.
 *  - The crc matches and every key decodes and obeys KeyIndex's invariants, keys strictly
 *    ascending, no revision above the checkpoint's.
 * Records are append-only by revision and only compaction removes them, so the records after
 * `revision` plus a re-run of any compaction scheduled after `compactRevision` bring the
 * checkpoint to exactly what a full rebuild gives (tested against one).
 */
const MAGIC = Buffer.from('WKVIDX01');
const HEAD_BYTES = MAGIC.length + 8 + 8 + 4;

export interface Checkpoint {
  index: TreeIndex;
  /** Every record up to this revision is in the index. */
  revision: number;
  /** The index is compacted at this revision (0 = never). */
  compactRevision: number;
}

/** Where the checkpoint's bytes live: a file next to the data, or memory in tests. */
export interface CheckpointStore {
  read(): Promise<Buffer | undefined>;
  /** Replaces the checkpoint atomically: afterwards (or after a crash) old or new bytes, never a mix. */
  write(data: Buffer): Promise<void>;
}

/** The meta record that binds a checkpoint file to the records it was taken from. */
export function checkpointMeta(data: Buffer, revision: number): Buffer {
  const meta = Buffer.alloc(20);
  writeU64(meta, 0, revision);
  writeU64(meta, 8, data.length);
  meta.writeUInt32BE(data.readUInt32BE(data.length - 4), 16); // the crc of the rest, its trailer
  return meta;
}

export function encodeCheckpoint(index: TreeIndex, revision: number, compactRevision: number): Buffer {
  // One growing buffer: a million keys must not become a million small Buffers to concatenate.
  let out = Buffer.allocUnsafe(HEAD_BYTES + index.size * 128 + 4096);
  let used = HEAD_BYTES;
  index.forEach((ki) => {
    const gens = ki.rawGenerations();
    const packed = ki.packedLength();
    // A live key's newest kv, or a tombstone that carries a deleted key's bytes.
    const kv = packed > 0 ? undefined : ki.isLive() ? ki.latest! : deletedKv(ki.key, 0);
    const length = kv ? recordLength(kv) : packed;
    const need = 8 * (gens.length + 2) + length;
    if (used + need > out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, used + need));
      out.copy(bigger, 0, 0, used);
      out = bigger;
    }
    used = writeVarint(out, used, gens.length);
    for (let i = 0; i < gens.length; i++) used = writeVarint(out, used, gens[i]!);
    used = writeVarint(out, used, length);
    if (kv) {
      used += encodeRecordInto(out, used, kv, !ki.isLive());
    } else {
      // The record as it was loaded, copied without decoding it.
      used += ki.copyPackedLatest(out, used);
    }
  });
  if (used + 4 > out.length) {
    const bigger = Buffer.allocUnsafe(used + 4);
    out.copy(bigger, 0, 0, used);
    out = bigger;
  }
  MAGIC.copy(out, 0);
  writeU64(out, 8, revision);
  writeU64(out, 16, compactRevision);
  out.writeUInt32BE(index.size, 24);
  out.writeUInt32BE(crc32(out.subarray(0, used)), used);
  return out.subarray(0, used + 4);
}

/** Writes `n` (a non-negative integer below 2^53) as an LEB128 varint; returns the new offset. */
function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[at++] = n;
  return at;
}

/**
 * Decodes a checkpoint whose meta record is `meta`. Throws (with the reason) on anything that
 * does not match or check out; the caller then rebuilds from the records.
 */
export function decodeCheckpoint(data: Buffer, meta: Buffer): Checkpoint {
  if (meta.length !== 20) throw new Error('checkpoint meta record is malformed');
  const revision = readU64(meta, 0);
  if (readU64(meta, 8) !== data.length) throw new Error('checkpoint file length does not match its meta record');
  if (data.length < HEAD_BYTES + 4 || !data.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a checkpoint file');
  const crc = crc32(data.subarray(0, data.length - 4));
  if (crc !== data.readUInt32BE(data.length - 4) || crc !== meta.readUInt32BE(16)) throw new Error('checkpoint checksum mismatch');
  if (readU64(data, 8) !== revision) throw new Error('checkpoint revision does not match its meta record');
  const compactRevision = readU64(data, 16);
  const count = data.readUInt32BE(24);
  const end = data.length - 4;
  let at = HEAD_BYTES;
  const varint = (): number => {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (at >= end || scale > 2 ** 49) throw new Error('checkpoint is truncated or malformed');
      const b = data[at++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
  };
  const keys: KeyIndex[] = new Array(count);
  let prev: KeyIndex | undefined;
  for (let k = 0; k < count; k++) {
    const n = varint();
    if (n < 3 || n > end - at) throw new Error(`checkpoint key ${k}: bad generation count`);
    // Exact-size arrays of small integers: V8 keeps them unboxed and with no spare capacity.
    const gens = n === 5 ? [varint(), varint(), varint(), varint(), varint()] : readGens(n, varint);
    if (!checkGenerations(gens) || gens[gens.length - 2]! > revision) throw new Error(`checkpoint key ${k}: bad generations`);
    const len = varint();
    if (len < RECORD_HEADER_BYTES || len > end - at) throw new Error(`checkpoint key ${k}: bad record length`);
    const keyLength = data.readUInt32BE(at + RECORD_KEY_LENGTH_OFFSET);
    if (keyLength === 0 || RECORD_HEADER_BYTES + keyLength > len) throw new Error(`checkpoint key ${k}: bad record`);
    const ki = KeyIndex.fromRaw(data, at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + keyLength, gens);
    if (prev && prev.compare(ki) >= 0) throw new Error(`checkpoint key ${k}: keys out of order`);
    const tombstone = (data[at]! & 1) !== 0;
    if (ki.isLive() === tombstone || ki.isEmpty()) throw new Error(`checkpoint key ${k}: record does not match its generations`);
    if (!tombstone) ki.setPackedLatest(data, at, at + len);
    keys[k] = ki;
    prev = ki;
    at += len;
  }
  if (at !== end) throw new Error('checkpoint has trailing bytes');
  return { index: TreeIndex.fromSorted(keys), revision, compactRevision };
}

function readGens(n: number, varint: () => number): number[] {
  const gens: number[] = [];
  for (let i = 0; i < n; i++) gens.push(varint());
  return gens.slice(); // drops the spare capacity push left
}

function writeU64(buf: Buffer, at: number, n: number): void {
  buf.writeUInt32BE(Math.floor(n / 0x1_0000_0000), at);
  buf.writeUInt32BE(n >>> 0, at + 4);
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
}

/**
 * A checkpoint in a file: written to a temporary name, fsynced, renamed over the old one and
 * the directory fsynced, so a crash leaves the old file or the new one.
 */
export function fileCheckpointStore(path: string): CheckpointStore {
  return {
    async read() {
      try {
        return await readFile(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async write(data) {
      const tmp = `${path}.tmp`;
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await rename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      const dir = await open(dirname(path), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    },
  };
}
