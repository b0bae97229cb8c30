/**
 * A fixed-bucket latency histogram: 10 µs buckets below 100 ms, 1 ms buckets up to 100 s. A fan-out
 * run records millions of latencies; buckets keep memory constant and percentiles exact to a bucket.
 */
const FINE_LIMIT_MS = 100;
const FINE_PER_MS = 100;
const COARSE_LIMIT_MS = 100_000;
const FINE_BUCKETS = FINE_LIMIT_MS * FINE_PER_MS;
const BUCKETS = FINE_BUCKETS + (COARSE_LIMIT_MS - FINE_LIMIT_MS) + 1;

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  max = 0;

  record(ms: number): void {
    if (!(ms > 0)) ms = 0; // clock noise between processes can make a tiny negative
    const i = ms < FINE_LIMIT_MS ? Math.floor(ms * FINE_PER_MS) : Math.min(BUCKETS - 1, FINE_BUCKETS + Math.floor(ms - FINE_LIMIT_MS));
    this.counts[i]! += 1;
    this.count += 1;
    if (ms > this.max) this.max = ms;
  }

  /** The upper edge of the bucket holding the p-th percentile (p in 0..100); NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const edge = i < FINE_BUCKETS ? (i + 1) / FINE_PER_MS : FINE_LIMIT_MS + (i - FINE_BUCKETS + 1);
        return Math.min(edge, this.max);
      }
    }
    return this.max;
  }
}
