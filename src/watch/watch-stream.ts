import { ERROR_MESSAGES } from '../errors.ts';
import { isEmptyRange, normaliseEnd } from '../mvcc/key-range.ts';
import { firstReadableRevision } from '../mvcc/revision.ts';
import type { WatchCreateRequest, WatchResponse, WatchSink, WatchStream } from './watch-api.ts';
import { ETCD_MODES, Watcher, type WatcherModes } from './watcher.ts';

/** What a stream needs from the engine: a narrow seam, not the whole store. */
export interface StreamHost {
  /** Highest revision published to watchers. */
  currentRevision(): number;
  /** Revisions below this one are compacted (0: never compacted). */
  compactRevision(): number;
  /** Places a new watcher: synced (from now / future) or unsynced (history owed). */
  place(w: Watcher): void;
  /** Takes a watcher out of whichever set holds it. */
  remove(w: Watcher): void;
  /** Sends a progress answer for a synced watcher through its ordered path. */
  sendProgress(w: Watcher): void;
  /** The stream has a backlog: retry it on the victim loop. */
  backlogged(stream: StreamImpl): void;
  /** The transport has room again (latest-value watchers flush their maps now). */
  resumed(stream: StreamImpl): void;
  /** The stream is closed: forget it. */
  closed(stream: StreamImpl): void;
  readonly limits: { maxWatchersPerStream: number; progressNotifyIntervalMs: number };
}

const none: readonly never[] = [];

function control(watchId: number, revision: number, fields: Partial<WatchResponse>): WatchResponse {
  return { watchId, revision, events: none, withPrevKv: false, ...fields };
}

/**
 * One client connection's watches. Control answers (created, canceled, stream-wide progress)
 * go straight to the sink or, when it is full, into a FIFO backlog; while the backlog is not
 * empty every events offer is refused, so nothing overtakes a queued answer (a watcher's
 * events never precede its `created`, a -1 progress never follows later events).
 */
export class StreamImpl implements WatchStream {
  private readonly watchers = new Map<number, Watcher>();
  private readonly backlog: WatchResponse[] = [];
  private nextId = 0;
  private closed = false;
  private readonly ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: StreamHost,
    private readonly sink: WatchSink,
  ) {
    const interval = host.limits.progressNotifyIntervalMs;
    // Jitter once per stream (as etcd) so many streams do not tick together.
    this.ticker = setInterval(() => this.tick(), interval + Math.floor(Math.random() * (interval / 10)));
    this.ticker.unref();
  }

  create(req: WatchCreateRequest): void {
    if (this.closed) return;
    const rev = this.host.currentRevision();
    const fail = (reason: string) => this.control(control(-1, rev, { created: true, canceled: true, cancelReason: reason }));
    const end = normaliseEnd(req.rangeEnd);
    if (isEmptyRange(req.key, end)) return fail(ERROR_MESSAGES.ERR_WATCH_EMPTY_RANGE);
    if (this.watchers.size >= this.host.limits.maxWatchersPerStream) return fail(ERROR_MESSAGES.ERR_TOO_MANY_WATCHERS);
    let id = req.watchId;
    if (id === 0) {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watchers.has(id)) {
      return fail(ERROR_MESSAGES.ERR_WATCH_DUPLICATE_ID);
    }
    // A negative start, as etcd 3.4: below the first readable revision (revision.ts) the watcher
    // is created and then canceled as compacted; otherwise (-1 on a never-compacted store) it
    // finds no history and goes on from the current revision.
    let compactedAt: number | undefined;
    let startRevision = req.startRevision;
    if (startRevision < 0) {
      const first = firstReadableRevision(this.host.compactRevision());
      if (startRevision < first) compactedAt = first;
      else startRevision = 0;
    }
    const start = startRevision === 0 ? rev + 1 : startRevision;
    const w = new Watcher(id, this, Buffer.from(req.key), end && Buffer.from(end), start, req.prevKv, req.noPut, req.noDelete, req.progressNotify, req.fragment, modesOf(req));
    this.watchers.set(id, w);
    // `created` first: it is queued ahead of any event the watcher can produce.
    this.control(control(id, rev, { created: true }));
    if (compactedAt !== undefined) this.cancelCompacted(w, compactedAt);
    else this.host.place(w);
  }

  cancel(watchId: number): void {
    if (this.closed) return;
    const w = this.watchers.get(watchId);
    const rev = this.host.currentRevision();
    if (!w) {
      this.control(control(watchId, rev, { canceled: true, cancelReason: ERROR_MESSAGES.ERR_WATCH_UNKNOWN_ID }));
      return;
    }
    this.drop(w);
    this.control(control(watchId, rev, { canceled: true }));
  }

  /**
   * Ends a watcher overtaken by compaction: its next revision no longer exists. Its id stays
   * taken until the client cancels it, as in etcd: that cancel is answered like any other.
   */
  cancelCompacted(w: Watcher, compactRevision: number): void {
    w.state = 'closed';
    this.host.remove(w);
    this.control(control(w.id, 0, { canceled: true, compactRevision }));
  }

  requestProgress(): void {
    if (this.closed) return;
    const all = [...this.watchers.values()].filter((w) => w.state !== 'closed');
    if (all.every((w) => w.caughtUp())) {
      this.control(control(-1, this.host.currentRevision(), {}));
      return;
    }
    // Some watcher still owes events: answer each watcher on its own as soon as it is caught
    // up, so a lagging one delays only its own bookmark.
    for (const w of all) {
      if (w.caughtUp()) this.host.sendProgress(w);
      else w.progressOwed = true;
    }
  }

  resume(): void {
    if (this.flush()) this.host.resumed(this);
  }

  /** Advisory notices skip the ordered path and the backlog: taken now or dropped. */
  notice(response: WatchResponse): void {
    if (!this.closed) this.sink.send(response);
  }

  size(): number {
    return this.watchers.size;
  }

  /** The stream's watchers (the engine's reset walks them). */
  members(): IterableIterator<Watcher> {
    return this.watchers.values();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    for (const w of this.watchers.values()) {
      w.state = 'closed';
      this.host.remove(w);
    }
    this.watchers.clear();
    this.backlog.length = 0;
    this.host.closed(this);
  }

  /** Offers responses of one watcher, in order; returns how many the transport took. */
  offer(responses: readonly WatchResponse[]): number {
    if (this.closed) return responses.length;
    if (this.backlog.length > 0 && !this.flush()) return 0;
    let n = 0;
    for (const r of responses) {
      if (!this.sink.send(r)) break;
      n++;
    }
    return n;
  }

  /** Sends queued control answers; true when the backlog is empty. */
  flush(): boolean {
    while (this.backlog.length > 0) {
      if (!this.sink.send(this.backlog[0]!)) return false;
      this.backlog.shift();
    }
    return true;
  }

  private control(resp: WatchResponse): void {
    if (this.backlog.length === 0 && this.sink.send(resp)) return;
    this.backlog.push(resp);
    this.host.backlogged(this);
  }

  private drop(w: Watcher): void {
    this.watchers.delete(w.id);
    w.state = 'closed';
    this.host.remove(w);
  }

  /** progress_notify: a watcher that got nothing for a whole interval hears where it stands. */
  private tick(): void {
    for (const w of this.watchers.values()) {
      if (!w.progressNotify || w.state === 'closed') continue;
      if (!w.sentSinceTick && w.state === 'synced') this.host.sendProgress(w);
      w.sentSinceTick = false;
    }
  }
}

/** The extensions a create asked for; etcd's behaviour when it asked for none. */
function modesOf(req: WatchCreateRequest): WatcherModes {
  if (!req.initialState && req.onCompacted !== 'resync' && req.delivery !== 'latest' && !req.lagNotify) return ETCD_MODES;
  return {
    // A state transfer describes "now": a start revision in the past or future already says
    // where the client stands, so initial_state applies to watches from now only.
    initialState: Boolean(req.initialState) && req.startRevision === 0,
    resyncOnCompacted: req.onCompacted === 'resync',
    latest: req.delivery === 'latest',
    lagNotify: req.lagNotify,
  };
}
