import { kvError } from '../errors.ts';
import type { RequestOp, TxnRequest } from './kv.ts';
import { contains as rangeContains, normaliseEnd, type RangeEnd } from './key-range.ts';

export interface TxnLimits {
  /** operations: most compares / ops per branch, at every nesting level. */
  maxTxnOps: number;
  /** bytes: most key + value + range-end bytes in one request. */
  maxRequestBytes: number;
}

/**
 * Validates a txn before it runs, as etcd does before applying: limits, empty keys, and the
 * rule that one key may not be written twice in a branch. Nested txns' then/else branches are
 * alternatives, so a key put in both is fine; a key put in one and put or deleted by the
 * enclosing level is not. Throws WatchKvError; never touches the store.
 */
export function checkTxnRequest(req: TxnRequest, limits: TxnLimits): void {
  const size = checkLevel(req, limits);
  if (size > limits.maxRequestBytes) throw kvError('ERR_REQUEST_TOO_LARGE');
  checkIntervals(req.success);
  checkIntervals(req.failure);
}

function checkLevel(req: TxnRequest, limits: TxnLimits): number {
  if (req.compare.length > limits.maxTxnOps || req.success.length > limits.maxTxnOps || req.failure.length > limits.maxTxnOps) {
    throw kvError('ERR_TOO_MANY_OPS');
  }
  let bytes = 0;
  for (const c of req.compare) {
    if (c.key.length === 0) throw kvError('ERR_KEY_NOT_PROVIDED');
    bytes += c.key.length + (c.rangeEnd?.length ?? 0) + (c.value?.length ?? 0);
  }
  for (const op of [...req.success, ...req.failure]) bytes += opBytes(op, limits);
  return bytes;
}

function opBytes(op: RequestOp, limits: TxnLimits): number {
  if ('txn' in op) return checkLevel(op.txn, limits);
  const r = 'range' in op ? op.range : 'put' in op ? op.put : op.deleteRange;
  if (r.key.length === 0) throw kvError('ERR_KEY_NOT_PROVIDED');
  return r.key.length + ('rangeEnd' in r ? (r.rangeEnd?.length ?? 0) : 0) + ('value' in r ? r.value.length : 0);
}

interface Interval {
  key: Buffer;
  end: RangeEnd;
}

function contains(iv: Interval, point: Buffer): boolean {
  return rangeContains(iv.key, iv.end, point);
}

/**
 * Returns the keys put and the ranges deleted by `ops` (any path through nested txns).
 * Single-key deletes (the common case: a queue batch acks dozens of items) are looked up in a
 * set; only real ranges are scanned, so a batch of n puts and n deletes costs O(n), not O(n²).
 */
function checkIntervals(ops: readonly RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  const singleDels = new Set<string>();
  const ranges: Interval[] = [];
  const addDel = (iv: Interval): void => {
    dels.push(iv);
    if (iv.end === undefined) singleDels.add(iv.key.toString('latin1'));
    else ranges.push(iv);
  };
  for (const op of ops) {
    if ('deleteRange' in op) addDel({ key: op.deleteRange.key, end: normaliseEnd(op.deleteRange.rangeEnd) });
  }
  // latin1 maps bytes to chars one to one, so equal strings are equal keys.
  const deleted = (k: string, key?: Buffer): boolean => {
    if (singleDels.has(k)) return true;
    if (ranges.length === 0) return false;
    const point = key ?? Buffer.from(k, 'latin1');
    return ranges.some((iv) => contains(iv, point));
  };
  const puts = new Set<string>();
  for (const op of ops) {
    if (!('txn' in op)) continue;
    const then = checkIntervals(op.txn.success);
    const otherwise = checkIntervals(op.txn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || deleted(k)) throw kvError('ERR_DUPLICATE_KEY');
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      // A key put by both branches of the same nested txn is written once whichever runs.
      if ((puts.has(k) && !then.puts.has(k)) || deleted(k)) throw kvError('ERR_DUPLICATE_KEY');
      puts.add(k);
    }
    // A later nested txn's puts are checked against this one's deletes too (etcd's order).
    for (const iv of then.dels) addDel(iv);
    for (const iv of otherwise.dels) addDel(iv);
  }
  for (const op of ops) {
    if (!('put' in op)) continue;
    const k = op.put.key.toString('latin1');
    if (puts.has(k) || deleted(k, op.put.key)) throw kvError('ERR_DUPLICATE_KEY');
    puts.add(k);
  }
  return { puts, dels };
}
