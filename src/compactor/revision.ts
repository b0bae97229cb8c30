/**
 * Revision auto-compaction: keep the last `retention` revisions. Follows etcd's
 * v3compactor/revision.go: every interval (etcd: 5 minutes) compact at current - retention,
 * unless that is not positive or is the revision compacted last time; a failure is retried at
 * the next interval.
 */
import { compactOnce, type Compactable, type Compactor, type CompactorLog } from './compact-once.ts';

export class RevisionCompactor implements Compactor {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private prev = 0;

  constructor(
    private readonly store: Compactable,
    private readonly log: CompactorLog,
    private readonly retention: number,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const rev = this.store.currentRevision() - this.retention;
    if (rev > 0 && rev !== this.prev) {
      if (await compactOnce(this.store, this.log, rev, { mode: 'revision', retentionRevisions: this.retention })) this.prev = rev;
    }
    this.schedule();
  }
}
