import type { KeyValue } from './kv.ts';
import { readRevision, REVISION_BYTES, writeRevision, type Revision } from './revision.ts';

/**
 * The store's on-disk layout in the backend's single ordered keyspace:
 *
 *   "r" + revision(16 bytes)   → one change record (a put or a tombstone)
 *   "m" + name                 → meta records (format marker, compaction progress, checkpoint)
 *   "l" + ...                  → reserved for the lessor's records (src/lease/lease-record.ts);
 *                                the store never reads them, except to hand them over
 *   "a" + ...                  → the auth store's records (src/auth/auth-records.ts), same rule
 *   other prefixes             → not the store's: restore ignores them
 *
 * Record value: flags(1) | createRevision(6) | version(6) | lease(8, int64) | keyLength(4) | key | value
 * flags bit 0 = tombstone. modRevision is the record key's main revision and is not repeated.
 * 6-byte revisions allow 2^48 revisions; at a million writes a second that is nine years.
 */

export const RECORD_PREFIX = 0x72; // 'r'
export const META_PREFIX = 0x6d; // 'm'
export const LEASE_PREFIX = 0x6c; // 'l'
export const AUTH_PREFIX = 0x61; // 'a': the auth store's records (auth-host.ts)
const HEADER_BYTES = 1 + 6 + 6 + 8 + 4;
const FLAG_TOMBSTONE = 1;
/** Bytes before the key in a record value; the key's length is the u32 just before it. */
export const RECORD_HEADER_BYTES = HEADER_BYTES;
export const RECORD_KEY_LENGTH_OFFSET = 21;
export const RECORD_LEASE_OFFSET = 13;

export const META_FORMAT = metaKey('format');
export const META_SCHEDULED_COMPACT = metaKey('scheduledCompactRev');
export const META_FINISHED_COMPACT = metaKey('finishedCompactRev');
/** Revision, length and checksum of the index checkpoint file that matches these records. */
export const META_INDEX_CHECKPOINT = metaKey('indexCheckpoint');
/** Written in every data directory; anything else there is refused at open. */
export const FORMAT_VERSION = 'watchkv-mvcc-1';

export function metaKey(name: string): Buffer {
  return Buffer.concat([Buffer.from([META_PREFIX]), Buffer.from(name, 'utf8')]);
}

export function recordKey(main: number, sub: number): Buffer {
  const buf = Buffer.allocUnsafe(1 + REVISION_BYTES);
  buf[0] = RECORD_PREFIX;
  writeRevision(buf, 1, main, sub);
  return buf;
}

export function recordKeyRevision(key: Buffer): Revision {
  return readRevision(key, 1);
}

export interface DecodedRecord {
  kv: KeyValue;
  tombstone: boolean;
  sub: number;
}

export function encodeRecord(kv: KeyValue, tombstone: boolean): Buffer {
  const buf = Buffer.allocUnsafe(recordLength(kv));
  encodeRecordInto(buf, 0, kv, tombstone);
  return buf;
}

/** Bytes of kv's record value. */
export function recordLength(kv: KeyValue): number {
  return HEADER_BYTES + kv.key.length + kv.value.length;
}

/** Writes kv's record value into `buf` at `at` (which must have room); returns its length. */
export function encodeRecordInto(buf: Buffer, at: number, kv: KeyValue, tombstone: boolean): number {
  // Field by field by hand: Buffer's writeUIntBE / writeBigInt64BE / copy each cost more in
  // argument checks than the bytes they write, and a graceful stop encodes a million of these.
  buf[at] = tombstone ? FLAG_TOMBSTONE : 0;
  writeU48(buf, at + 1, kv.createRevision);
  writeU48(buf, at + 7, kv.version);
  if (kv.lease === 0n) buf.fill(0, at + 13, at + 21);
  else buf.writeBigInt64BE(kv.lease, at + 13);
  const k = kv.key;
  const v = kv.value;
  buf.writeUInt32BE(k.length, at + 21);
  copySmall(k, buf, at + HEADER_BYTES);
  copySmall(v, buf, at + HEADER_BYTES + k.length);
  return HEADER_BYTES + k.length + v.length;
}

function writeU48(buf: Buffer, at: number, n: number): void {
  const hi = Math.floor(n / 0x1_0000_0000);
  buf[at] = hi >>> 8;
  buf[at + 1] = hi & 0xff;
  buf.writeUInt32BE(n >>> 0, at + 2);
}

function copySmall(src: Buffer, dst: Buffer, at: number): void {
  const n = src.length;
  if (n > 64) {
    src.copy(dst, at);
    return;
  }
  for (let i = 0; i < n; i++) dst[at + i] = src[i]!;
}

/** Decodes a record; throws on a record that is not ours (foreign or corrupt data). */
export function decodeRecord(key: Buffer, value: Buffer): DecodedRecord {
  if (key.length !== 1 + REVISION_BYTES || key[0] !== RECORD_PREFIX || value.length < HEADER_BYTES) {
    throw new Error(`malformed record at key ${key.toString('hex')}`);
  }
  const { main, sub } = readRevision(key, 1);
  return decodeRecordValue(main, sub, value);
}

/** Decodes a record's value, its revision known; throws on bytes that are not a record. */
export function decodeRecordValue(main: number, sub: number, value: Buffer): DecodedRecord {
  if (value.length < HEADER_BYTES) throw new Error(`malformed record at revision ${main}.${sub}`);
  const keyLength = value.readUInt32BE(21);
  if (HEADER_BYTES + keyLength > value.length || (value[0]! & ~FLAG_TOMBSTONE) !== 0) {
    throw new Error(`malformed record at revision ${main}.${sub}`);
  }
  const tombstone = (value[0]! & FLAG_TOMBSTONE) !== 0;
  const k = value.subarray(HEADER_BYTES, HEADER_BYTES + keyLength);
  const kv: KeyValue = tombstone
    ? deletedKv(k, main)
    : {
        key: k,
        createRevision: value.readUIntBE(1, 6),
        modRevision: main,
        version: value.readUIntBE(7, 6),
        value: value.subarray(HEADER_BYTES + keyLength),
        lease: value.readBigInt64BE(13),
      };
  return { kv, tombstone, sub };
}

const EMPTY = Buffer.alloc(0);

/** The kv a DELETE event carries: only the key and the deletion revision, as etcd. */
export function deletedKv(key: Buffer, revision: number): KeyValue {
  return { key, createRevision: 0, modRevision: revision, version: 0, value: EMPTY, lease: 0n };
}
