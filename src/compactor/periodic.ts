/**
 * Periodic auto-compaction: keep `retention` ms of history. Follows etcd's v3compactor/periodic.go:
 *
 *   period   = retention
 *   interval = min(period, 1h) / 10     how often a revision is sampled (and failures retried)
 *   window   = period / interval + 1    samples kept; revs[0] is the revision seen `period` ago
 *
 *   1. every interval, sample the current revision into the window (dropping the oldest);
 *   2. compact at revs[0] once `period` has passed since the start, then every min(period, 1h)
 *      after each success; skip when revs[0] is the revision compacted last time;
 *   3. a failure is retried at the next interval, with the window moved on.
 *
 * So with retention 1h: compact every hour at the revision of an hour ago; with 10h: every hour,
 * at the revision of ten hours ago; with 30m: every 30 minutes, at the revision of 30 minutes ago.
 */
import { compactOnce, type Compactable, type Compactor, type CompactorLog } from './compact-once.ts';

const HOUR_MS = 3_600_000;
const RETRY_DIVISOR = 10;

export class PeriodicCompactor implements Compactor {
  private readonly revs: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastSuccessAt = 0;
  private lastRevision = 0;
  /** ms that must pass since the last success: the whole period at first, then min(period, 1h). */
  private baseInterval: number;
  private readonly intervalMs: number;
  private readonly windowSize: number;

  constructor(
    private readonly store: Compactable,
    private readonly log: CompactorLog,
    private readonly periodMs: number,
  ) {
    this.baseInterval = periodMs;
    this.intervalMs = Math.max(1, Math.min(periodMs, HOUR_MS) / RETRY_DIVISOR);
    this.windowSize = Math.floor(periodMs / this.intervalMs) + 1;
  }

  start(): void {
    this.lastSuccessAt = Date.now();
    this.sample();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private sample(): void {
    this.revs.push(this.store.currentRevision());
    if (this.revs.length > this.windowSize) this.revs.shift();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const rev = this.revs[0]!;
    if (Date.now() - this.lastSuccessAt >= this.baseInterval && rev !== this.lastRevision && rev > 0) {
      this.baseInterval = Math.min(this.periodMs, HOUR_MS);
      if (await compactOnce(this.store, this.log, rev, { mode: 'periodic', retentionMs: this.periodMs })) {
        this.lastRevision = rev;
        this.lastSuccessAt = Date.now();
      }
    }
    if (this.stopped) return;
    this.sample();
    this.schedule();
  }
}
