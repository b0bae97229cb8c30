/**
 * etcd's backend quota (--quota-backend-bytes): a write that would take the store past its quota
 * is refused with "database space exceeded" and raises the NOSPACE alarm, which then refuses
 * every write that adds data until an operator makes room (compact, defragment) and disarms it.
 *
 * Costs are etcd 3.4's (server/etcdserver/quota.go): a put is its key and value plus 256 bytes;
 * a txn is the larger of its two branches' puts (deletes and reads cost nothing, so a txn
 * without puts always passes); a lease grant is 64 bytes.
 *
 * The size: etcd asks bbolt for its file size on every request. Summing a LevelDB directory's
 * files costs a readdir and a stat per file, too much per write, so the size is measured at most
 * every sizeRefreshMs while writes come in (and at once after compaction and defragmentation),
 * and the cost of every write let through since the last measurement is added to it. The sum
 * over-estimates (LevelDB compresses and compacts), so the quota can trip slightly early, never
 * late by more than what one refresh interval lets through.
 */
import type { TxnRequest } from './kv.ts';

export const KV_OVERHEAD_BYTES = 256;
export const LEASE_COST_BYTES = 64;

export function putCost(key: Buffer, value: Buffer): number {
  return KV_OVERHEAD_BYTES + key.length + value.length;
}

/**
 * The larger branch's puts. A nested txn's puts count too (etcd 3.4 counted none, so a nested
 * put slipped past a raised NOSPACE; 3.5 counts them).
 */
export function txnCost(req: TxnRequest): number {
  const branch = (ops: TxnRequest['success']): number => {
    let n = 0;
    for (const op of ops) {
      if ('put' in op) n += putCost(op.put.key, op.put.value);
      else if ('txn' in op) n += txnCost(op.txn);
    }
    return n;
  };
  return Math.max(branch(req.success), branch(req.failure));
}

export interface SpaceQuotaOptions {
  /** The quota; a write whose cost would take the size to it or past it is refused. */
  quotaBytes: number;
  sizeRefreshMs: number;
  /** Measures the store's size on disk. */
  measure(): Promise<number>;
}

export class SpaceQuota {
  private measuredBytes = 0;
  /** Costs of the writes let through since the last measurement. */
  private sinceBytes = 0;
  private measuring: Promise<void> | undefined;
  private lastMeasuredAt = 0;

  constructor(private readonly options: SpaceQuotaOptions) {}

  /** Measures now (at open, after compaction and defragmentation). */
  async refresh(): Promise<void> {
    const since = this.sinceBytes;
    const bytes = await this.options.measure();
    this.measuredBytes = bytes;
    // Writes let through while measuring may or may not be in the figure: keep counting them.
    this.sinceBytes -= since;
    this.lastMeasuredAt = Date.now();
  }

  /** The estimate the next write is judged by. */
  sizeBytes(): number {
    return this.measuredBytes + this.sinceBytes;
  }

  /**
   * Whether a write of `cost` bytes fits; a write that fits is counted. A zero cost always fits
   * (etcd: reads and deletes are never refused for space).
   */
  admit(cost: number): boolean {
    if (cost === 0) return true;
    this.maybeRefresh();
    if (this.sizeBytes() + cost >= this.options.quotaBytes) return false;
    this.sinceBytes += cost;
    return true;
  }

  /** Starts a background measurement when the last one is older than the interval. */
  private maybeRefresh(): void {
    if (this.measuring || Date.now() - this.lastMeasuredAt < this.options.sizeRefreshMs) return;
    this.measuring = this.refresh()
      .catch(() => undefined) // a failed stat keeps the estimate; the next write tries again
      .finally(() => (this.measuring = undefined));
  }
}
