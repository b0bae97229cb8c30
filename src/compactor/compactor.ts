/**
 * Auto-compaction, as etcd 3.4 has it (server/etcdserver/api/v3compactor): a background loop that
 * compacts the store so a long-running server's history, index and disk stop growing without an
 * operator. Two modes:
 *
 *   periodic  keep `retention` of time: compact at the revision that was current `retention`
 *             ago (periodic.ts)
 *   revision  keep the last `retention` revisions: every 5 minutes compact at current - retention
 *             (revision.ts)
 *
 * Off unless a retention is given (etcd's default retention is 0 = off). The compactor only ever
 * calls the store's ordinary compact(), so it obeys the same rules as a client's compaction: an
 * ERR_COMPACTED answer (someone compacted further already) counts as done, like etcd.
 */
import type { Compactable, Compactor, CompactorLog } from './compact-once.ts';
import { PeriodicCompactor } from './periodic.ts';
import { RevisionCompactor } from './revision.ts';

export type AutoCompactionMode = 'periodic' | 'revision';
export type { Compactable, Compactor, CompactorLog };

export interface CompactorOptions {
  mode: AutoCompactionMode;
  /** periodic: ms of history to keep; revision: revisions to keep. 0 = off. */
  retention: number;
  /** ms: how often revision mode looks (etcd: 5 minutes). */
  revisionIntervalMs: number;
}

/** Starts the compactor the options ask for, or none when retention is 0. */
export function startCompactor(store: Compactable, log: CompactorLog, options: CompactorOptions): Compactor | undefined {
  if (options.retention <= 0) return undefined;
  const c =
    options.mode === 'periodic'
      ? new PeriodicCompactor(store, log, options.retention)
      : new RevisionCompactor(store, log, options.retention, options.revisionIntervalMs);
  c.start();
  return c;
}
