/**
 * Retry delay after a failed attempt: exponential with full jitter (AWS's "full jitter", bounded
 * below by the minimum): the n-th failure waits a uniform random time in [min, cap(n)] where
 * cap(n) = min(max, min · 2^(n−1)). So the first retry waits exactly `min`, and a hot failure
 * loop spreads out instead of retrying in lockstep.
 */
export interface BackoffBounds {
  backoffMinMs: number;
  backoffMaxMs: number;
}

/** The upper bound of the n-th (1-based) failure's delay. */
export function backoffCapMs(failures: number, b: BackoffBounds): number {
  const exp = Math.min(Math.max(failures - 1, 0), 52);
  return Math.min(b.backoffMaxMs, b.backoffMinMs * 2 ** exp);
}

/** A delay for the n-th failure; `random` in [0, 1) (tests pass a seeded one). */
export function backoffMs(failures: number, b: BackoffBounds, random: () => number = Math.random): number {
  const cap = backoffCapMs(failures, b);
  const lo = Math.min(b.backoffMinMs, cap);
  return Math.round(lo + random() * (cap - lo));
}
