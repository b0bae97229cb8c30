/**
 * One compaction as both compactors run it (periodic.ts, revision.ts), and the small contracts
 * they share with compactor.ts — in a file of their own so the compactors and the module that
 * chooses between them do not import each other.
 */
import { isKvError } from '../errors.ts';

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
