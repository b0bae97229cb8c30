/**
 * Exponential backoff with jitter for reconnects: attempt n waits a random time in
 * [d/2, d] where d = min(maxMs, initialMs × 2^n). The random half keeps many clients that lost
 * the same server from coming back in lockstep; the fixed half keeps the wait growing.
 */
export interface BackoffOptions {
  /** ms: the first retry's upper bound (default 100). */
  initialMs?: number;
  /** ms: the largest wait (default 10,000). */
  maxMs?: number;
  /** For tests: a random source in [0, 1). */
  random?: () => number;
}

export const DEFAULT_BACKOFF = { initialMs: 100, maxMs: 10_000 } as const;

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(o: BackoffOptions = {}) {
    this.initialMs = o.initialMs ?? DEFAULT_BACKOFF.initialMs;
    this.maxMs = o.maxMs ?? DEFAULT_BACKOFF.maxMs;
    this.random = o.random ?? Math.random;
  }

  /** The wait before the next attempt; each call doubles the bound until maxMs. */
  next(): number {
    const d = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return d / 2 + this.random() * (d / 2);
  }

  /** A connection worked: the next failure starts from the first step again. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
