import type { Event } from '../mvcc/kv.ts';
import type { RangeEnd } from '../mvcc/tree-index.ts';
import type { WatchResponse } from './watch-api.ts';

/**
 * Where a watcher is in its life:
 *   synced    in the watcher group; gets each revision as it commits (if >= minRev)
 *   victim    its stream refused a response; holds exactly that one batch in `pending`
 *   unsynced  owes history from minRev on; the sync loop reads it from the store
 *
 *   synced --stream full--> victim --batch delivered--> unsynced --caught up--> synced
 */
export type WatcherState = 'synced' | 'victim' | 'unsynced' | 'closed';

export interface WatcherStreamRef {
  /** Offers responses in order; returns how many the transport took. */
  offer(responses: readonly WatchResponse[]): number;
  /** Ends the watcher because compaction removed its next revision. */
  cancelCompacted(w: Watcher, compactRevision: number): void;
}

export class Watcher {
  state: WatcherState = 'synced';
  /**
   * The next revision this watcher must deliver. Exact while victim or unsynced; for a synced
   * watcher it only matters while it waits for a future start revision (everything below the
   * published revision has been delivered by definition of synced).
   */
  minRev: number;
  /** The one batch a victim holds: responses of consecutive whole revisions, in order. */
  pending: WatchResponse[] | null = null;
  /** A progress answer owed once the watcher has caught up (stream-wide progress request). */
  progressOwed = false;
  /** progress_notify: set when a response went out since the last tick, so the tick skips. */
  sentSinceTick = false;

  constructor(
    readonly id: number,
    readonly stream: WatcherStreamRef,
    readonly key: Buffer,
    /** undefined = single key, null = +infinity. */
    readonly end: RangeEnd,
    startRev: number,
    readonly prevKv: boolean,
    readonly noPut: boolean,
    readonly noDelete: boolean,
    readonly progressNotify: boolean,
    readonly fragment: boolean,
  ) {
    this.minRev = startRev;
  }

  /** Does the watcher want this event (range and filters)? */
  wants(ev: Event): boolean {
    if (ev.type === 'PUT' ? this.noPut : this.noDelete) return false;
    return this.contains(ev.kv.key);
  }

  contains(key: Buffer): boolean {
    if (this.end === undefined) return key.equals(this.key);
    return Buffer.compare(key, this.key) >= 0 && (this.end === null || Buffer.compare(key, this.end) < 0);
  }

  /** An events response for this watcher. */
  eventsResponse(revision: number, events: readonly Event[]): WatchResponse {
    return { watchId: this.id, revision, events, withPrevKv: this.prevKv };
  }
}
