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
import { isKvError } from '../errors.ts';
import { PeriodicCompactor } from './periodic.ts';
import { RevisionCompactor } from './revision.ts';

export type AutoCompactionMode = 'periodic' | 'revision';

/** What a compactor needs from the store: the current revision and compact(). */
export interface Compactable {
  currentRevision(): number;
  compact(revision: number): Promise<unknown>;
}

/** The slice of a pino logger the compactors write to. */
export interface CompactorLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface Compactor {
  /** Stops the loop; a compaction already started finishes (the store waits for it on close). */
  stop(): void;
}

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

/** Runs one compaction; true when the store is compacted at least to `revision`. */
export async function compactOnce(store: Compactable, log: CompactorLog, revision: number, detail: object): Promise<boolean> {
  const started = Date.now();
  log.info({ revision, ...detail }, 'starting auto compaction');
  try {
    await store.compact(revision);
  } catch (err) {
    if (!isKvError(err, 'ERR_COMPACTED')) {
      log.warn({ revision, ...detail, err: (err as Error).message }, 'failed auto compaction');
      return false;
    }
  }
  log.info({ revision, ...detail, tookMs: Date.now() - started }, 'completed auto compaction');
  return true;
}
