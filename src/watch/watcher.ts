import type { Event } from '../mvcc/kv.ts';
import { contains, type RangeEnd } from '../mvcc/key-range.ts';
import { eventBytes } from './fragment.ts';
import type { LagNotifyOptions, WatchResponse } from './watch-api.ts';

/**
 * Where a watcher is in its life:
 *   synced    in the watcher group; gets each revision as it commits (if >= minRev)
 *   victim    its stream refused a response; holds exactly that one batch in `pending`
 *   unsynced  owes history from minRev on; the sync loop reads it from the store
 *   transfer  a state transfer (initial_state, resync) owns it: in no set, no routing
 *
 *   synced --stream full--> victim --batch delivered--> unsynced --caught up--> synced
 *   (new, initial_state) / (unsynced, compacted, resync) --> transfer --done--> unsynced/synced
 *
 * Latest-value watchers (delivery 'latest') are never victims: a synced one whose batch is
 * refused keeps only its floor (`latestFrom`) on the engine's shared LatestTable; with put/delete
 * filters, or while catching up (unsynced: the sync loop merges history), it merges into a map
 * of its own, `latest`.
 */
export type WatcherState = 'synced' | 'victim' | 'unsynced' | 'transfer' | 'closed';

/** The watchkv extensions a watcher opted into (watch-api.ts). */
export interface WatcherModes {
  initialState: boolean;
  resyncOnCompacted: boolean;
  latest: boolean;
  lagNotify: LagNotifyOptions | undefined;
}

export const ETCD_MODES: WatcherModes = Object.freeze({ initialState: false, resyncOnCompacted: false, latest: false, lagNotify: undefined });

export interface WatcherStreamRef {
  /** Offers responses in order; returns how many the transport took. */
  offer(responses: readonly WatchResponse[]): number;
  /** Ends the watcher because compaction removed its next revision. */
  cancelCompacted(w: Watcher, compactRevision: number): void;
  /** An advisory notice (lagging): out of band, written at once or dropped. */
  notice(response: WatchResponse): void;
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
  /**
   * Latest-value mode while lagging: each key's newest undelivered event, keyed by the key's
   * latin1 string. Invariant: Map order is ascending revision, because events are merged in
   * revision order and a key is deleted before it is set again; so the map's values are a
   * batch with increasing revisions and each key once. null = not coalescing.
   */
  latest: Map<string, Event> | null = null;
  /**
   * Latest-value mode while lagging on the engine's shared LatestTable instead of a map of its
   * own: the first revision not delivered (its batch is the table's entries in range from here).
   * 0 = not lagging on the table. At most one of `latest` and `latestFrom` is set.
   */
  latestFrom = 0;
  /** ms timestamp of the last refused flush of a table batch (the timer's retry throttle). */
  latestTriedAt = 0;
  /** ms timestamp when the watcher fell behind; 0 = caught up. */
  lagSince = 0;
  /** While lagging: the highest revision whose events are all delivered. */
  sentRev = 0;
  /** ms timestamp of the last lag notice (0 = none since it fell behind). */
  lastNoticeAt = 0;

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
    readonly modes: WatcherModes = ETCD_MODES,
  ) {
    this.minRev = startRev;
  }

  /** Everything published has been delivered (progress may be answered now). */
  caughtUp(): boolean {
    return this.state === 'synced' && this.latest === null && this.latestFrom === 0;
  }

  /** Starts the lag clock (idempotent while already lagging). */
  markLagging(now: number, deliveredRev: number): void {
    if (this.lagSince !== 0) return;
    this.lagSince = now;
    this.sentRev = deliveredRev;
    this.lastNoticeAt = 0;
  }

  clearLagging(): void {
    this.lagSince = 0;
  }

  /** Latest-value mode: folds events (ascending revision) into the per-key map. */
  merge(events: readonly Event[]): void {
    const map = (this.latest ??= new Map());
    for (const ev of events) {
      const id = ev.kv.key.toString('latin1');
      map.delete(id); // re-inserted last: keeps the map in ascending revision order
      map.set(id, ev);
    }
  }

  /** Bytes the engine holds for this watcher (a victim's batch, a latest-value map). */
  pendingBytes(): number {
    let n = 0;
    for (const r of this.pending ?? []) for (const ev of r.events) n += eventBytes(ev, r.withPrevKv);
    if (this.latest) for (const ev of this.latest.values()) n += eventBytes(ev, this.prevKv);
    return n;
  }

  /** Does the watcher want this event (range and filters)? */
  wants(ev: Event): boolean {
    if (ev.type === 'PUT' ? this.noPut : this.noDelete) return false;
    return this.contains(ev.kv.key);
  }

  contains(key: Buffer): boolean {
    return contains(this.key, this.end, key);
  }

  /** An events response for this watcher. */
  eventsResponse(revision: number, events: readonly Event[]): WatchResponse {
    return { watchId: this.id, revision, events, withPrevKv: this.prevKv };
  }
}
