/**
 * The lessor's durable records, in the backend keyspace the store reserves for it (kv-codec.ts,
 * LEASE_PREFIX), so they can never collide with MVCC records:
 *
 *   "l" + id (int64, 8 bytes big-endian)  →  format(1) = 1 | grantedTtlSeconds (int64 BE)
 *
 * Only the grant is recorded, never the deadline: after a restart every lease gets its full TTL
 * again (etcd does the same on a new leader), so a lease never expires early because the server
 * was down. Keep-alives are not written at all.
 */
import type { BatchOp } from '../backend/backend.ts';
import { kvError } from '../errors.ts';
import { LEASE_PREFIX } from '../mvcc/kv-codec.ts';

const FORMAT = 1;

export function leaseRecordKey(id: bigint): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = LEASE_PREFIX;
  key.writeBigInt64BE(id, 1);
  return key;
}

export function putLeaseRecord(id: bigint, ttlSeconds: number): BatchOp {
  const value = Buffer.allocUnsafe(9);
  value[0] = FORMAT;
  value.writeBigInt64BE(BigInt(ttlSeconds), 1);
  return { type: 'put', key: leaseRecordKey(id), value };
}

export function deleteLeaseRecord(id: bigint): BatchOp {
  return { type: 'del', key: leaseRecordKey(id) };
}

/** Decodes a record; one that is not ours means a damaged directory: refuse it. */
export function decodeLeaseRecord(key: Buffer, value: Buffer): { id: bigint; ttlSeconds: number } {
  if (key.length !== 9 || key[0] !== LEASE_PREFIX || value.length !== 9 || value[0] !== FORMAT) {
    throw kvError('ERR_CORRUPT', `data directory is corrupt: malformed lease record at key ${key.toString('hex')}`);
  }
  return { id: key.readBigInt64BE(1), ttlSeconds: Number(value.readBigInt64BE(1)) };
}
