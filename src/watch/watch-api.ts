/**
 * Contracts of the watch engine, as a transport (WebSocket, streaming HTTP, an in-process test)
 * sees it. No code lives here. The engine knows nothing of frames or JSON; the transport knows
 * nothing of victims, sync loops or revisions beyond what a response carries.
 */
import type { CommitListener, Event, HistoryReader, RangeRequest, RangeResult, ResetListener } from '../mvcc/kv.ts';

export interface WatchCreateRequest {
  /** First key of the range. etcd's empty key ("" → "\0") is translated by the API layer. */
  key: Buffer;
  /**
   * etcd's convention (mvcc/key-range.ts): undefined or empty = the single key `key`; "\0" =
   * every key >= key; otherwise the exclusive end. key >= rangeEnd is an empty range.
   */
  rangeEnd?: Buffer;
  /** 0 = from now (events after the created response's revision); otherwise inclusive. */
  startRevision: number;
  progressNotify: boolean;
  /** Attach the key's previous value to non-create events. */
  prevKv: boolean;
  noPut: boolean;
  noDelete: boolean;
  /** 0 = assign one; any other value (negative included, as etcd) is used as given. */
  watchId: number;
  /** Allow a response over the fragment size to be split into several. */
  fragment: boolean;
  // ---- watchkv extensions (all optional; absent = exactly etcd's behaviour) ----
  /**
   * List-then-watch: before any change, the range's keys at the created revision R arrive as
   * PUT events framed by `snapshotStart` and `snapshotDone` (revision R); changes follow from
   * R+1. Only with startRevision 0 (a start in the past already says where to begin).
   */
  initialState?: boolean;
  /**
   * 'resync': when compaction removed the watcher's next revision, instead of canceling it the
   * engine sends a state transfer (same framing) at the current revision and goes on live.
   */
  onCompacted?: 'cancel' | 'resync';
  /**
   * 'latest': when the watcher lags, it keeps only each key's newest event and sends them as one
   * batch (increasing revisions, each key once) when the stream has room again.
   */
  delivery?: 'exact' | 'latest';
  /** Lag notices: a `lagging` response once the watcher is behind by either threshold. */
  lagNotify?: LagNotifyOptions;
}

export interface LagNotifyOptions {
  /** Notify after the watcher has been behind this long, and again every afterMs while it is. */
  afterMs: number;
  /** ... or as soon as it is this many revisions behind the published revision. */
  behindRevisions: number;
}

/** How far behind a lagging watcher is (a watchkv extension). */
export interface LagInfo {
  /** Published revision minus the last revision the watcher has fully delivered. */
  behindRevisions: number;
  /** Approximate bytes the engine holds for it (a victim's batch, a latest-value map). */
  pendingBytes: number;
  /** Filled by the transport when it has scheduled a disconnect for an unreadable client. */
  disconnectInMs?: number;
}

/**
 * One response of a watch stream, in etcd's WatchResponse shape.
 * - created: answer to a create; `canceled` + `cancelReason` (watchId -1) when the create failed.
 * - events: all matching events of one or more whole revisions (fragment splits one response).
 * - progress: no events, not created/canceled, compactRevision 0; `revision` is the bookmark.
 *   A stream-wide progress answer has watchId -1.
 * - canceled: after a cancel request (or an unknown id: cancelReason says so), or compaction
 *   overtook the watcher (compactRevision set, revision 0 as etcd).
 */
export interface WatchResponse {
  watchId: number;
  /** The header revision. */
  revision: number;
  created?: boolean;
  canceled?: boolean;
  cancelReason?: string;
  compactRevision?: number;
  /** Every part of a split response but the last. */
  fragment?: boolean;
  /**
   * Shared, immutable event objects (the same object goes to every watcher that gets it), so
   * the transport may memoise each event's encoding. Their prevKv is filled whether or not this
   * watcher asked: the transport includes prevKv only when `withPrevKv` is true.
   */
  events: readonly Event[];
  withPrevKv: boolean;
  // ---- watchkv extensions: never set for a watcher that did not opt in ----
  /** A state transfer begins: the client drops what it holds for the range. No events. */
  snapshotStart?: boolean;
  /** The state transfer is complete at `revision`; every later event is above it. No events. */
  snapshotDone?: boolean;
  /**
   * An advisory notice (no events, outside the ordered path): the transport writes it even
   * when it is above its high-water mark, or drops it; it never delays or reorders events.
   */
  lagging?: LagInfo;
}

/** Where a stream's responses go: implemented by the transport. */
export interface WatchSink {
  /**
   * Offers one response. Return true when taken (it will be written, in order). Return false
   * when the transport is full: nothing was taken, and the engine keeps the response and offers
   * it again later (on `WatchStream.resume()` or its retry loop). Responses of one watcher are
   * always offered in order; a refused response is offered again before any later one.
   */
  send(response: WatchResponse): boolean;
}

/** One client connection's watches. */
export interface WatchStream {
  /** Creates a watcher; the outcome always arrives as a `created` response through the sink. */
  create(request: WatchCreateRequest): void;
  /** Cancels a watcher; a `canceled` response follows (also for an unknown id, with a reason). */
  cancel(watchId: number): void;
  /**
   * Asks for progress at the current revision R. When every watcher has already delivered all
   * its events <= R, one response with watchId -1 answers for the stream (as etcd). Otherwise
   * each watcher gets its own progress response (its own watchId) as soon as it has delivered
   * every event <= R, so one lagging watcher never starves the others' bookmarks.
   */
  requestProgress(): void;
  /** The transport has room again: refused responses are offered again now. */
  resume(): void;
  /** Number of watchers on the stream. */
  size(): number;
  /** Cancels every watcher silently and releases the stream. Idempotent. */
  close(): void;
}

/**
 * What the engine needs of a store, and no more (a KV is one; etcd's watchableStore likewise
 * wraps only the write path): commits to route, history to catch up from, ranges for state
 * transfers, and (a mirror's) revision jumps. Reads and writes of clients go to the store itself.
 */
export interface WatchSource extends HistoryReader {
  range(req: RangeRequest): Promise<RangeResult>;
  onCommit(listener: CommitListener): () => void;
  onReset?(listener: ResetListener): () => void;
}

/** The engine as the server sees it. */
export interface WatchEngine {
  newStream(sink: WatchSink): WatchStream;
  /** Highest revision published to watchers. */
  currentRevision(): number;
}
