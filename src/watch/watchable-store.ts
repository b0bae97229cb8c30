import { DEFAULTS } from '../config.ts';
import type { Event } from '../mvcc/kv.ts';
import { fragmentResponse, eventBytes } from './fragment.ts';
import type { WatchEngine, WatchResponse, WatchSink, WatchSource, WatchStream } from './watch-api.ts';
import { StreamImpl, type StreamHost } from './watch-stream.ts';
import { RecentHistory } from './recent-history.ts';
import { transferState } from './state-transfer.ts';
import { Watcher } from './watcher.ts';
import { LatestTable } from './latest-table.ts';
import { WatcherGroup } from './watcher-group.ts';
import { SyncLoop, victimPass, type LoopHost } from './sync-loops.ts';

export interface WatchOptions {
  victimRetryIntervalMs: number;
  syncIntervalMs: number;
  latestRetryIntervalMs: number;
  syncMaxWatchersPerPass: number;
  syncMaxRevisionsPerPass: number;
  watchHistoryBytes: number;
  progressNotifyIntervalMs: number;
  minProgressNotifyIntervalMs: number;
  watchFragmentBytes: number;
  maxWatchersPerStream: number;
  watchSnapshotPageKeys: number;
}

/**
 * The watch engine (etcd's watchableStore, without the KV it wraps there): it listens to a
 * store's commits — each durable write txn becomes one notification of its events, routed to
 * the synced watchers — and reads the store's history only to catch watchers up (WatchSource).
 * Clients' reads and writes go to the store directly; the store knows nothing of watchers.
 * A watcher that falls behind is a victim or unsynced until the loops in sync-loops.ts bring it
 * back.
 *
 * watchkv extensions (opt-in per watcher, see watch-api.ts; a watcher without them behaves
 * exactly as above):
 * - state transfer (initial_state; resync instead of the compaction cancel, sync-loops.ts step 2):
 *   state-transfer.ts, then the watcher is placed with minRev = R+1;
 * - latest-value mode: a refused batch is not parked: the watcher keeps a floor on the shared
 *   LatestTable (newest event per key, one for all such watchers: memory bounded by keys, not by
 *   keys x watchers), or, catching up or filtered, a per-key map of its own; either is flushed
 *   as one batch on the sync timer or when its stream resumes;
 * - lag notices: the sync timer's lagPass measures each lagging watcher that asked.
 */
export class WatchableStore implements WatchEngine {
  private readonly synced = new WatcherGroup();
  private readonly victims = new Set<Watcher>();
  private readonly unsynced = new Set<Watcher>();
  private readonly backlogs = new Set<StreamImpl>();
  private readonly streams = new Set<StreamImpl>();
  /** Latest-value watchers lagging: holding a map or a table floor to flush (synced or unsynced). */
  private readonly coalescing = new Set<Watcher>();
  /** The newest event per key since the oldest table floor, while latest-value watchers exist. */
  private readonly latestTable = new LatestTable();
  /** Watchers in a state transfer (for lag notices and stats). */
  private readonly transfers = new Set<Watcher>();
  private rev: number;
  private readonly sync: SyncLoop;
  private readonly timers: NodeJS.Timeout[];
  private readonly options: WatchOptions;
  private readonly host: StreamHost;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeReset: () => void;
  private recent: RecentHistory;

  constructor(
    private readonly source: WatchSource,
    options: Partial<WatchOptions> = {},
  ) {
    const o = { ...pick(DEFAULTS), ...options };
    o.progressNotifyIntervalMs = Math.max(o.progressNotifyIntervalMs, o.minProgressNotifyIntervalMs);
    this.options = o;
    this.rev = source.currentRevision();
    this.recent = new RecentHistory(o.watchHistoryBytes, this.rev + 1);
    this.unsubscribe = source.onCommit((rev, events) => this.notify(rev, events));
    this.unsubscribeReset = source.onReset?.((rev) => this.reset(rev)) ?? (() => undefined);
    const loops: LoopHost = {
      victims: this.victims,
      unsynced: this.unsynced,
      backlogs: this.backlogs,
      source,
      syncMaxWatchersPerPass: o.syncMaxWatchersPerPass,
      syncMaxRevisionsPerPass: o.syncMaxRevisionsPerPass,
      recent: () => this.recent,
      publishedRevision: () => this.rev,
      deliver: (w, resp, lastRev) => this.deliver(w, resp, lastRev),
      settle: (w) => this.settle(w),
      resync: (w, compactRev) => this.startTransfer(w, compactRev),
    };
    this.sync = new SyncLoop(loops);
    this.timers = [
      setInterval(() => victimPass(loops), o.victimRetryIntervalMs),
      setInterval(() => {
        this.flushLatest();
        this.lagPass();
        void this.sync.pass();
      }, o.syncIntervalMs),
    ];
    for (const t of this.timers) t.unref();
    this.host = {
      currentRevision: () => this.rev,
      compactRevision: () => this.source.compactRevision(),
      place: (w) => {
        if (w.modes.latest) this.latestTable.addUser(w, this.rev + 1);
        if (w.modes.initialState) this.startTransfer(w);
        else this.settle(w);
      },
      resumed: (s) => this.flushLatest(s),
      remove: (w) => this.remove(w),
      sendProgress: (w) => this.sendProgress(w),
      backlogged: (s) => this.backlogs.add(s),
      closed: (s) => {
        this.streams.delete(s);
        this.backlogs.delete(s);
      },
      limits: { maxWatchersPerStream: o.maxWatchersPerStream, progressNotifyIntervalMs: o.progressNotifyIntervalMs },
    };
  }

  // ---- WatchEngine ----

  newStream(sink: WatchSink): WatchStream {
    const stream = new StreamImpl(this.host, sink);
    this.streams.add(stream);
    return stream;
  }

  currentRevision(): number {
    return this.rev;
  }

  /** Watchers in each state, for tests and metrics. */
  stats(): { synced: number; victims: number; unsynced: number; coalescing: number; transfers: number; pendingEvents: number; recentEvents: number } {
    let pendingEvents = 0;
    for (const w of this.victims) for (const r of w.pending ?? []) pendingEvents += r.events.length;
    for (const w of this.coalescing) pendingEvents += w.latest?.size ?? 0;
    pendingEvents += this.latestTable.size; // shared by every watcher lagging on it
    return {
      synced: this.synced.size,
      victims: this.victims.size,
      unsynced: this.unsynced.size,
      coalescing: this.coalescing.size,
      transfers: this.transfers.size,
      pendingEvents,
      recentEvents: this.recent.size().events,
    };
  }

  // ---- the hot path ----

  private notify(rev: number, events: readonly Event[]): void {
    this.rev = rev;
    this.recent.append(rev, events);
    // Before routing: a watcher refused below starts lagging at this revision on the table.
    if (this.latestTable.active) this.latestTable.note(events);
    if (this.synced.size === 0) return;
    for (const [w, evs] of this.synced.route(rev, events)) {
      if (w.latestFrom !== 0) continue; // lagging on the table, which has these events
      if (w.latest !== null) w.merge(evs); // lagging latest-value watcher: fold, don't send
      else this.deliver(w, w.eventsResponse(rev, evs), rev);
    }
  }

  /**
   * The store's revision jumped to `rev` with no commits for the revisions between (a mirror
   * relisted: kv.ts ResetListener). Recent history restarts after it, and every synced watcher
   * becomes unsynced at its own next revision: the sync loop then serves it those revisions
   * through kv.history, or ends it with compact_revision (or resyncs it, if it asked) where
   * they are gone. Nobody is told of a revision it did not get.
   */
  private reset(rev: number): void {
    this.rev = rev;
    this.recent = new RecentHistory(this.options.watchHistoryBytes, rev + 1);
    const synced: Watcher[] = [];
    for (const s of this.streams) for (const w of s.members()) if (w.state === 'synced') synced.push(w);
    for (const w of synced) {
      this.synced.delete(w);
      // A latest-value watcher lagging on the table owes everything from its floor: it catches
      // up from there like the others (into a map of its own), not from its stale minRev.
      if (w.latestFrom !== 0) {
        w.minRev = w.latestFrom;
        w.latestFrom = 0;
      }
      w.state = 'unsynced';
      w.markLagging(Date.now(), w.minRev - 1);
      this.unsynced.add(w);
    }
    this.sync.kick();
  }

  /**
   * Offers a synced or catching-up watcher its response; a refusal parks it as a victim, or for
   * a latest-value watcher folds the batch into its map (returns true: nothing is parked).
   */
  private deliver(w: Watcher, resp: WatchResponse, lastRev: number): boolean {
    // Latest-value batches are never split: a response is taken whole or merged whole.
    const parts = w.fragment && !w.modes.latest ? fragmentResponse(resp, this.options.watchFragmentBytes) : [resp];
    const taken = w.stream.offer(parts);
    if (resp.events.length > 0 && taken > 0) w.sentSinceTick = true;
    const firstRev = resp.events.length > 0 ? resp.events[0]!.kv.modRevision : lastRev;
    // Never lower it: a progress notice to a watcher waiting for a future start revision must
    // not make it take revisions before that start.
    w.minRev = Math.max(w.minRev, lastRev + 1);
    if (taken === parts.length) {
      if (w.lagSince !== 0) w.sentRev = lastRev;
      return true;
    }
    w.markLagging(Date.now(), firstRev - 1);
    if (w.modes.latest) {
      // Synced and unfiltered: lag on the shared table from the first revision not delivered
      // (an empty batch, a refused progress answer, flushes as a progress response).
      const from = resp.events.length > 0 ? firstRev : lastRev + 1;
      if (w.state === 'synced' && w.latest === null && !w.noPut && !w.noDelete && this.latestTable.covers(from)) w.latestFrom = from;
      // Otherwise a map of its own: always made, so an empty one still flushes as progress.
      else w.merge(resp.events);
      this.coalescing.add(w);
      return true;
    }
    if (w.state === 'synced') this.synced.delete(w);
    else this.unsynced.delete(w);
    w.state = 'victim';
    w.pending = parts.slice(taken);
    this.victims.add(w);
    return false;
  }

  // ---- placement ----

  private remove(w: Watcher): void {
    this.synced.delete(w);
    this.victims.delete(w);
    this.unsynced.delete(w);
    this.coalescing.delete(w);
    this.transfers.delete(w);
    if (w.modes.latest) this.latestTable.removeUser(w);
    w.pending = null;
    w.latest = null;
    w.latestFrom = 0;
  }

  /**
   * Hands a watcher to a state transfer (initial_state, or resync after compaction with
   * `compactRevision`), then places it from R+1. A latest-value map is dropped: the state
   * transfer supersedes everything it held.
   */
  private startTransfer(w: Watcher, compactRevision?: number): void {
    w.state = 'transfer';
    w.latest = null;
    w.latestFrom = 0;
    this.coalescing.delete(w);
    this.transfers.add(w);
    const deps = {
      kv: this.source,
      publishedRevision: () => this.rev,
      pageKeys: this.options.watchSnapshotPageKeys,
      retryMs: this.options.victimRetryIntervalMs,
    };
    transferState(w, deps, compactRevision).then(
      (ok) => {
        this.transfers.delete(w);
        if (ok && w.state === 'transfer') this.settle(w);
      },
      (err: Error) => {
        this.transfers.delete(w);
        process.emitWarning(`watch state transfer failed: ${err.message}`);
        if (w.state === 'transfer') w.stream.cancelCompacted(w, this.source.compactRevision());
      },
    );
  }

  /**
   * Places a new watcher, or one whose batch or catch-up was just delivered: synced if nothing
   * is owed (a start in the future waits there too), else unsynced.
   */
  private settle(w: Watcher): void {
    if (w.minRev > this.rev) {
      w.state = 'synced';
      this.synced.add(w);
      if (w.latest !== null) {
        this.coalescing.add(w); // routed and merging until its map is flushed
        this.flushOne(w);
        return;
      }
      w.clearLagging();
      if (w.progressOwed) {
        w.progressOwed = false;
        this.sendProgress(w);
      }
    } else {
      w.state = 'unsynced';
      w.markLagging(Date.now(), w.minRev - 1);
      this.unsynced.add(w);
      this.sync.kick();
    }
  }

  private sendProgress(w: Watcher): void {
    if (!w.caughtUp()) {
      w.progressOwed = true;
      return;
    }
    const resp: WatchResponse = { watchId: w.id, revision: this.rev, events: [], withPrevKv: false };
    this.deliver(w, resp, this.rev);
  }

  /**
   * Latest-value watchers: a synced watcher's map holds every undelivered event up to the
   * published revision, so it goes out as one response at header revision `rev`, its events
   * in ascending revision, each key once. Refused: the map stays and keeps merging. Only the
   * given stream's watchers when it just resumed; else all (the sync timer's retry).
   */
  private flushLatest(only?: StreamImpl): void {
    let floor = this.rev + 1;
    const now = Date.now();
    for (const w of this.coalescing) {
      if (w.state === 'closed' || (w.latest === null && w.latestFrom === 0)) {
        this.coalescing.delete(w);
        continue;
      }
      // The timer retries a refused table batch only now and then (see latestRetryIntervalMs).
      const due = only ? w.stream === only : w.latestFrom === 0 || now - w.latestTriedAt >= this.options.latestRetryIntervalMs;
      if (due) this.flushOne(w);
      if (w.latestFrom !== 0) floor = Math.min(floor, w.latestFrom);
    }
    // What no lagging watcher needs any more (all of it when none lags on the table).
    if (!only && this.latestTable.active) this.latestTable.prune(floor);
  }

  /** A latest-value watcher's undelivered events: its own map, or its share of the table. */
  private latestEvents(w: Watcher): Event[] {
    if (w.latest !== null) return [...w.latest.values()];
    return this.latestTable.collect(w.latestFrom, (ev) => w.wants(ev));
  }

  private flushOne(w: Watcher): void {
    if (w.state !== 'synced' || (w.latest === null && w.latestFrom === 0)) return;
    // Nothing undelivered (a refused progress answer) goes out as a progress response.
    const resp = w.eventsResponse(this.rev, this.latestEvents(w));
    if (w.stream.offer([resp]) !== 1) {
      w.latestTriedAt = Date.now();
      return;
    }
    w.latest = null;
    w.latestFrom = 0;
    w.sentSinceTick = true;
    w.minRev = this.rev + 1;
    this.coalescing.delete(w);
    w.clearLagging();
    if (w.progressOwed) {
      w.progressOwed = false;
      this.sendProgress(w);
    }
  }

  /**
   * Lag notices: every watcher that asked and is behind (victim, catching up, coalescing) hears
   * once a threshold is passed, then again every afterMs while it stays behind. The notice is
   * advisory and out of band (WatchStreamRef.notice): it never waits behind undelivered events.
   */
  private lagPass(): void {
    const now = Date.now();
    const visit = (w: Watcher): void => {
      const lag = w.modes.lagNotify;
      if (!lag || w.lagSince === 0 || w.state === 'closed') return;
      const behind = this.rev - w.sentRev;
      if (w.lastNoticeAt !== 0 && now - w.lastNoticeAt < lag.afterMs) return;
      if (now - w.lagSince < lag.afterMs && behind < lag.behindRevisions) return;
      w.lastNoticeAt = now;
      let pendingBytes = w.pendingBytes();
      if (w.latestFrom !== 0) for (const ev of this.latestEvents(w)) pendingBytes += eventBytes(ev, w.prevKv);
      w.stream.notice({ watchId: w.id, revision: this.rev, events: [], withPrevKv: false, lagging: { behindRevisions: behind, pendingBytes } });
    };
    for (const w of this.victims) visit(w);
    for (const w of this.unsynced) visit(w);
    for (const w of this.coalescing) visit(w);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const s of [...this.streams]) s.close();
    this.unsubscribe();
    this.unsubscribeReset();
  }
}

function pick(d: typeof DEFAULTS): WatchOptions {
  return {
    victimRetryIntervalMs: d.victimRetryIntervalMs,
    syncIntervalMs: d.syncIntervalMs,
    latestRetryIntervalMs: d.latestRetryIntervalMs,
    syncMaxWatchersPerPass: d.syncMaxWatchersPerPass,
    syncMaxRevisionsPerPass: d.syncMaxRevisionsPerPass,
    watchHistoryBytes: d.watchHistoryBytes,
    progressNotifyIntervalMs: d.progressNotifyIntervalMs,
    minProgressNotifyIntervalMs: d.minProgressNotifyIntervalMs,
    watchFragmentBytes: d.watchFragmentBytes,
    maxWatchersPerStream: d.maxWatchersPerStream,
    watchSnapshotPageKeys: d.watchSnapshotPageKeys,
  };
}
