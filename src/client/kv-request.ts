/**
 * Builds the gateway's request bodies for reads and writes (shared by the KV calls and the txn
 * builder, whose operations are the same requests).
 */
import { prefixRangeEnd, toBase64, toBytes, ZERO_KEY_B64, type BytesLike } from './bytes.ts';

export interface RangeOptions {
  /** Every key that starts with `key` (an empty key: every key). */
  prefix?: boolean;
  /** Every key in [key, end); `"\0"` means to the end of the keyspace. Ignored with `prefix`. */
  end?: BytesLike;
  /** Every key >= `key`. */
  fromKey?: boolean;
  /** Most keys to return (0 = no limit). */
  limit?: number;
  /** Read at this revision (0 = the newest). */
  revision?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  sortTarget?: 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';
  sortOrder?: 'NONE' | 'ASCEND' | 'DESCEND';
}

export interface PutOptions {
  /** Attach the key to this lease (its decimal ID). */
  lease?: string | number | bigint;
  /** Answer with the key's previous version. */
  prevKv?: boolean;
}

export interface DeleteOptions {
  prefix?: boolean;
  end?: BytesLike;
  fromKey?: boolean;
  prevKv?: boolean;
}

/** `key`/`range_end` for a key, a prefix or a range, as base64. */
export function keyRange(key: BytesLike, o: { prefix?: boolean; end?: BytesLike; fromKey?: boolean }): { key: string; range_end?: string } {
  const k = toBytes(key);
  if (o.prefix) {
    if (k.length === 0) return { key: ZERO_KEY_B64, range_end: ZERO_KEY_B64 };
    return { key: toBase64(k), range_end: toBase64(prefixRangeEnd(k)) };
  }
  if (o.fromKey) return { key: k.length === 0 ? ZERO_KEY_B64 : toBase64(k), range_end: ZERO_KEY_B64 };
  if (o.end !== undefined) return { key: toBase64(k), range_end: toBase64(o.end) };
  return { key: toBase64(k) };
}

export function rangeBody(key: BytesLike, o: RangeOptions = {}): Record<string, unknown> {
  const body: Record<string, unknown> = keyRange(key, o);
  if (o.limit) body.limit = o.limit;
  if (o.revision) body.revision = o.revision;
  if (o.keysOnly) body.keys_only = true;
  if (o.countOnly) body.count_only = true;
  if (o.sortTarget) body.sort_target = o.sortTarget;
  if (o.sortOrder) body.sort_order = o.sortOrder;
  return body;
}

export function putBody(key: BytesLike, value: BytesLike, o: PutOptions = {}): Record<string, unknown> {
  const body: Record<string, unknown> = { key: toBase64(key), value: toBase64(value) };
  if (o.lease !== undefined && String(o.lease) !== '0') body.lease = String(o.lease);
  if (o.prevKv) body.prev_kv = true;
  return body;
}

export function deleteBody(key: BytesLike, o: DeleteOptions = {}): Record<string, unknown> {
  const body: Record<string, unknown> = keyRange(key, o);
  if (o.prevKv) body.prev_kv = true;
  return body;
}
