/**
 * Key ranges, one convention in each of two places:
 *
 *   - In requests (KV, watch, auth permissions), etcd's: `rangeEnd` absent or empty = the single
 *     key `key`; the single byte "\0" = every key >= `key` (to the end of the keyspace); any other
 *     bytes = the exclusive end. Transports pass etcd's range_end through unchanged.
 *   - Inside the store's index and the watch engine, normalised (RangeEnd): `undefined` = the
 *     single key, `null` = +infinity, a Buffer = the exclusive end (never empty, never "\0").
 *
 * normaliseEnd goes from the first to the second, requestEnd back; contains answers membership in
 * the normalised form. Nothing else in the code tests for "\0" or an empty end.
 */

/** A normalised range end: undefined = the single key, null = +infinity, else exclusive. */
export type RangeEnd = Buffer | null | undefined;

/** etcd's range_end for "to the end of the keyspace". */
export const FROM_KEY_END: Buffer = Buffer.of(0);

/** True when a request's range end means "every key from `key` on" (etcd's "\0"). */
export function isFromKeyEnd(rangeEnd: Buffer | undefined): boolean {
  return rangeEnd !== undefined && rangeEnd.length === 1 && rangeEnd[0] === 0;
}

/** A request's range end (etcd's convention) → the normalised form. */
export function normaliseEnd(rangeEnd: Buffer | undefined): RangeEnd {
  if (rangeEnd === undefined || rangeEnd.length === 0) return undefined;
  if (isFromKeyEnd(rangeEnd)) return null;
  return rangeEnd;
}

/** The normalised form → a request's range end (etcd's convention). */
export function requestEnd(end: RangeEnd): Buffer | undefined {
  return end === null ? FROM_KEY_END : end;
}

/** Whether `point` lies in the range [key, end) (normalised end). */
export function contains(key: Buffer, end: RangeEnd, point: Buffer): boolean {
  if (end === undefined) return key.equals(point);
  return Buffer.compare(point, key) >= 0 && (end === null || Buffer.compare(point, end) < 0);
}

/**
 * Whether a request's range holds no key at all: an end at or before the key (etcd answers such
 * a range with nothing; a watch on one is refused).
 */
export function isEmptyRange(key: Buffer, end: RangeEnd): boolean {
  return end !== undefined && end !== null && Buffer.compare(key, end) >= 0;
}
