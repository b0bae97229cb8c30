import type { KeyValue } from './kv.ts';
import { readRevision, REVISION_BYTES, writeRevision, type Revision } from './revision.ts';

/**
 * The store's on-disk layout in the backend's single ordered keyspace:
 *
 *   "r" + revision(16 bytes)   → one change record (a put or a tombstone)
 *   "m" + name                 → meta records (format marker, compaction progress)
 *   "l" + ...                  → reserved for the lessor's records (src/lease/lease-record.ts);
 *                                the store never reads them, except to hand them over
 *   "a" + ...                  → the auth store's records (src/auth/auth-records.ts), same rule
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

export const META_FORMAT = metaKey('format');
export const META_SCHEDULED_COMPACT = metaKey('scheduledCompactRev');
export const META_FINISHED_COMPACT = metaKey('finishedCompactRev');
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
  const buf = Buffer.allocUnsafe(HEADER_BYTES + kv.key.length + kv.value.length);
  buf[0] = tombstone ? FLAG_TOMBSTONE : 0;
  buf.writeUIntBE(kv.createRevision, 1, 6);
  buf.writeUIntBE(kv.version, 7, 6);
  buf.writeBigInt64BE(kv.lease, 13);
  buf.writeUInt32BE(kv.key.length, 21);
  kv.key.copy(buf, HEADER_BYTES);
  kv.value.copy(buf, HEADER_BYTES + kv.key.length);
  return buf;
}

/** Decodes a record; throws on a record that is not ours (foreign or corrupt data). */
export function decodeRecord(key: Buffer, value: Buffer): DecodedRecord {
  if (key.length !== 1 + REVISION_BYTES || key[0] !== RECORD_PREFIX || value.length < HEADER_BYTES) {
    throw new Error(`malformed record at key ${key.toString('hex')}`);
  }
  const { main, sub } = readRevision(key, 1);
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
