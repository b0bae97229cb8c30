/**
 * The two loops that bring a lagging watcher back to the live stream, apart from the engine's
 * hot path (watchable-store.ts) which only routes commits to synced watchers.
 *
 * Catch-up (SyncLoop, every syncIntervalMs and right after a watcher falls behind):
 *   1. take up to syncMaxWatchersPerPass unsynced watchers;
 *   2. cancel those whose next revision is compacted (compact_revision), never skip ahead — or,
 *      if they asked for resync, hand them to a state transfer;
 *   3. read history from the smallest next revision, at most syncMaxRevisionsPerPass whole
 *      revisions, in one read shared by all of them (recent history in memory first);
 *   4. send each its matching events as one response; a full stream makes it a victim again;
 *   5. a watcher now past the published revision joins the synced group (host.settle).
 * Victims (a stream refused a response) hold only that batch; victimPass retries them every
 * victimRetryIntervalMs. So a slow watcher costs one batch of memory, never its backlog, and
 * never slows the writers or other watchers.
 */
import { isKvError } from '../errors.ts';
import type { HistoryReader, RevisionChanges } from '../mvcc/kv.ts';
import type { RecentHistory } from './recent-history.ts';
import { routeHistory } from './route-history.ts';
import type { WatchResponse } from './watch-api.ts';
import type { StreamImpl } from './watch-stream.ts';
import type { Watcher } from './watcher.ts';

/** The engine's state and moves the loops work with. */
export interface LoopHost {
  readonly victims: Set<Watcher>;
  readonly unsynced: Set<Watcher>;
  /** Streams with frames the transport refused, flushed before victims are retried. */
  readonly backlogs: Set<StreamImpl>;
  readonly source: HistoryReader;
  readonly syncMaxWatchersPerPass: number;
  readonly syncMaxRevisionsPerPass: number;
  /** The current recent-history cache (replaced when a mirror's revision jumps). */
  recent(): RecentHistory;
  publishedRevision(): number;
  /** Offers a response; false when refused (the watcher is now a victim). */
  deliver(w: Watcher, resp: WatchResponse, lastRev: number): boolean;
  /** Places a watcher whose batch was delivered: synced if caught up, else unsynced. */
  settle(w: Watcher): void;
  /** A state transfer at the compaction revision, for watchers that asked for resync. */
  resync(w: Watcher, compactRevision: number): void;
}

/** Retries each victim's one parked batch; a watcher whose batch went through is placed again. */
export function victimPass(h: LoopHost): void {
  for (const s of h.backlogs) if (s.flush()) h.backlogs.delete(s);
  for (const w of h.victims) {
    const pending = w.pending!;
    const taken = w.stream.offer(pending);
    if (taken < pending.length) {
      w.pending = pending.slice(taken);
      continue;
    }
    if (pending.some((r) => r.events.length > 0)) w.sentSinceTick = true;
    w.sentRev = Math.max(w.sentRev, pending[pending.length - 1]!.revision);
    w.pending = null;
    h.victims.delete(w);
    h.settle(w);
  }
}

/** Catch-up of unsynced watchers: one pass at a time, bounded work per pass. */
export class SyncLoop {
  private running = false;
  private soon = false;

  constructor(private readonly h: LoopHost) {}

  /** Runs a pass on the next turn of the event loop (once, however often it is asked). */
  kick(): void {
    if (this.soon) return;
    this.soon = true;
    setImmediate(() => {
      this.soon = false;
      void this.pass();
    });
  }

  async pass(): Promise<void> {
    const h = this.h;
    if (this.running || h.unsynced.size === 0) return;
    this.running = true;
    try {
      const batch: Watcher[] = [];
      const compactRev = h.source.compactRevision();
      for (const w of h.unsynced) {
        if (batch.length >= h.syncMaxWatchersPerPass) break;
        if (w.minRev < compactRev) {
          h.unsynced.delete(w);
          if (w.modes.resyncOnCompacted) h.resync(w, compactRev);
          else w.stream.cancelCompacted(w, compactRev);
          continue;
        }
        batch.push(w);
      }
      if (batch.length === 0) return;
      const from = Math.min(...batch.map((w) => w.minRev));
      const to = h.publishedRevision();
      const max = h.syncMaxRevisionsPerPass;
      let changes: RevisionChanges[] = [];
      const recent = h.recent();
      if (from <= to && recent.covers(from)) {
        changes = recent.read(from, to, max, compactRev);
      } else if (from <= to) {
        try {
          changes = await h.source.history(from, to, { maxRevisions: max, withPrevKv: batch.some((w) => w.prevKv) });
        } catch (err) {
          if (isKvError(err, 'ERR_COMPACTED')) return; // the next pass cancels the overtaken ones
          throw err;
        }
      }
      const upper = changes.length === max ? changes[changes.length - 1]!.revision : to;
      const owed = routeHistory(batch, changes);
      for (const w of batch) {
        if (w.state !== 'unsynced') continue; // cancelled while we read
        const evs = owed.get(w);
        if (evs && w.modes.latest) {
          // A latest-value watcher catches up into its map (each key once per batch), which
          // goes out as one batch once it is caught up.
          w.merge(evs);
          w.minRev = Math.max(w.minRev, upper + 1);
        } else if (evs) {
          if (!h.deliver(w, w.eventsResponse(upper, evs), upper)) continue;
        } else {
          w.minRev = Math.max(w.minRev, upper + 1);
        }
        h.unsynced.delete(w);
        h.settle(w);
      }
    } catch (err) {
      process.emitWarning(`watch sync pass failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
    // Bounded work per pass; what is left goes on the next tick, not in this callback.
    if (h.unsynced.size > 0) this.kick();
  }
}
