/**
 * Auth for watches, on every transport at once: a WatchEngine wrapper made per connection for
 * the connection's user. Creating a watch needs read on the whole watched range; a denied create
 * is answered in-band as etcd does (`created` + `canceled`, watch_id -1, cancel_reason = the
 * error as the transport layer words it: etcd's grpc-go status string, api/error-map.ts). After every auth change the connection's open watches are re-checked and those that
 * lost read access are canceled with cancel_reason "etcdserver: permission denied".
 *
 * The credential is checked again at each create, as etcd does on its watch streams: a stream
 * opened with a token that has since expired (simple token ttl, JWT exp) or gone old (an auth
 * change) has its next creates refused with that error (`etcdserver: invalid auth token`, ...),
 * while the watches it already holds keep delivering.
 *
 * The engine assigns ids when watch_id is 0, so the wrapper learns each watch's id from its
 * `created` answer: every create produces exactly one `created` response, in request order.
 */
import { ERROR_MESSAGES, isKvError, type WatchKvError } from '../errors.ts';
import type { WatchCreateRequest, WatchEngine, WatchResponse, WatchSink, WatchStream } from '../watch/watch-api.ts';
import { authorize } from './auth-check.ts';
import type { AuthInfo, AuthStore } from './auth-store.ts';

/** A watched range, in etcd's range_end convention (mvcc/key-range.ts), as permissions take it. */
interface Range {
  key: Buffer;
  rangeEnd?: Buffer;
}

/** How a refused create's error reads in its cancel_reason. */
export type DenyReason = (err: WatchKvError) => string;

/** The stream's user now, from the credential it was opened with; throws when that is no longer valid. */
export type Reidentify = () => AuthInfo | undefined;

/**
 * `info`: the user the stream was opened as; `reidentify`: how to read its credential again at a
 * create (without it, `info` stands for the stream's life, as for an SSE watch that is one create).
 */
export function guardedEngine(engine: WatchEngine, auth: AuthStore, info: AuthInfo | undefined, denyReason: DenyReason, reidentify?: Reidentify): WatchEngine {
  if (info === undefined && !auth.enabled) {
    // Auth off when the connection opened: it stays the connection's identity (as etcd, whose
    // streams keep the auth info they were opened with).
    return engine;
  }
  return {
    currentRevision: () => engine.currentRevision(),
    newStream: (sink) => new GuardedStream(engine, sink, auth, info, denyReason, reidentify),
  };
}

class GuardedStream implements WatchStream {
  private readonly inner: WatchStream;
  private readonly pending: Range[] = [];
  private readonly open = new Map<number, Range>();
  /** Watches being canceled because their user lost read access. */
  private readonly revoking = new Set<number>();
  private readonly stopListening: () => void;

  constructor(
    private readonly engine: WatchEngine,
    private readonly sink: WatchSink,
    private readonly auth: AuthStore,
    /** The user as last identified: at the open, then at each create that was let through. */
    private info: AuthInfo | undefined,
    private readonly denyReason: DenyReason,
    private readonly reidentify: Reidentify | undefined,
  ) {
    this.inner = engine.newStream({ send: (r) => this.onResponse(r) });
    this.stopListening = auth.onChange(() => this.recheck());
  }

  private onResponse(r: WatchResponse): boolean {
    if (r.created) {
      const range = this.pending.shift();
      if (range && !r.canceled) this.open.set(r.watchId, range);
    } else if (r.canceled) {
      this.open.delete(r.watchId);
      if (this.revoking.delete(r.watchId)) return this.sink.send({ ...r, cancelReason: ERROR_MESSAGES.ERR_PERMISSION_DENIED });
    }
    return this.sink.send(r);
  }

  create(request: WatchCreateRequest): void {
    const range: Range = { key: request.key, rangeEnd: request.rangeEnd };
    try {
      const info = this.reidentify ? this.reidentify() : this.info;
      authorize(this.auth, info, { kind: 'watch', ...range });
      this.info = info;
    } catch (err) {
      if (!isKvError(err)) throw err;
      this.sink.send({ watchId: -1, revision: this.engine.currentRevision(), created: true, canceled: true, cancelReason: this.denyReason(err), events: [], withPrevKv: false });
      return;
    }
    this.pending.push(range);
    this.inner.create(request);
  }

  private recheck(): void {
    for (const [id, range] of [...this.open]) {
      if (this.auth.mayRead(this.info, range.key, range.rangeEnd)) continue;
      this.open.delete(id);
      // inner.cancel answers `canceled`; onResponse adds the reason to that answer.
      this.revoking.add(id);
      this.inner.cancel(id);
    }
  }

  cancel(watchId: number): void {
    this.open.delete(watchId);
    this.inner.cancel(watchId);
  }

  requestProgress(): void {
    this.inner.requestProgress();
  }

  resume(): void {
    this.inner.resume();
  }

  size(): number {
    return this.inner.size();
  }

  close(): void {
    this.stopListening();
    this.inner.close();
  }
}
