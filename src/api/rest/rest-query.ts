/**
 * Query-string parameters of the plain REST and SSE routes. Flags are present-or-absent
 * (`?prefix`, `?prefix=true`); `false` and `0` turn them off. Numbers must be plain decimal
 * integers: anything else is a 400 naming the parameter.
 */
import { kvError } from '../../errors.ts';

export type Query = Record<string, string | string[] | undefined>;

function one(q: Query, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw kvError('ERR_INVALID_ARGUMENT', `query parameter "${name}" given more than once`);
  return v;
}

export function flag(q: Query, name: string): boolean {
  const v = one(q, name);
  if (v === undefined) return false;
  const t = v.trim().toLowerCase();
  if (t === '' || t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw kvError('ERR_INVALID_ARGUMENT', `query parameter "${name}" must be true or false, got "${v}"`);
}

/** A non-negative integer parameter; 0 when absent. */
export function count(q: Query, name: string): number {
  const v = one(q, name);
  if (v === undefined) return 0;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw kvError('ERR_INVALID_ARGUMENT', `query parameter "${name}" must be a non-negative integer, got "${v}"`);
  return n;
}

const INT64_MAX = 2n ** 63n - 1n;

/** A lease id (int64, decimal); 0n when absent. */
export function leaseId(q: Query, name = 'lease'): bigint {
  const v = one(q, name);
  if (v === undefined) return 0n;
  if (!/^\d+$/.test(v) || BigInt(v) > INT64_MAX) throw kvError('ERR_INVALID_ARGUMENT', `query parameter "${name}" must be a lease id (decimal int64), got "${v}"`);
  return BigInt(v);
}
