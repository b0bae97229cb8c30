/**
 * One watch: a key, a prefix or a range, delivered as an async iterator of events and as
 * callbacks. Its resume point (`nextRevision`) is the revision after the last one delivered (or
 * the one a progress notification vouched for); the connection recreates the watch there after
 * any reconnect, so a consumer sees every revision once, in order, across disconnects and server
 * restarts. A resume point that was compacted ends the watch with CompactedError.
 *
 * Events that arrive before anyone listens are kept and handed to the first `events` listener
 * (or iterator), so `const w = client.watch(...); await something; for await (const e of w)`
 * misses nothing.
 */
import { Emitter, type Listener } from './emitter.ts';
import { ClosedError, type WatchKvClientError } from './errors.ts';
import type { WatchEvent } from './types.ts';

export interface WatchOptions {
  /** Watch every key starting with the key. */
  prefix?: boolean;
  /** Watch [key, end). */
  end?: Uint8Array | string;
  /** Watch every key >= key. */
  fromKey?: boolean;
  /** First revision to deliver (default: changes after now). */
  startRevision?: number;
  /** Deliver each event's previous key-value. */
  prevKv?: boolean;
  /** Leave out puts and/or deletes. */
  filters?: Array<'noput' | 'nodelete'>;
  /** Ask the server for periodic progress notifications (default true: keeps the resume point fresh while idle). */
  progressNotify?: boolean;
}

export interface WatchBatch {
  /** The events of one or more revisions, in revision order. */
  events: WatchEvent[];
  /** The last event's revision. */
  revision: number;
}

export interface WatchEventsMap {
  events: WatchBatch;
  /** Every change up to this revision has been delivered. */
  progress: number;
  /** The server confirmed the watch (again after each reconnect); the header revision. */
  created: number;
  /** The connection dropped: the watch will be recreated at its resume point. */
  disconnected: { reason: string };
  /** The watch ended for good: compacted resume point, canceled by the server. */
  error: WatchKvClientError;
  /** The watch ended (after close() or an error). */
  closed: void;
}

/** What a watch needs from the shared connection. */
export interface WatchHost {
  cancel(watch: Watch): void;
  requestProgress(): void;
}

export class Watch extends Emitter<WatchEventsMap> implements AsyncIterable<WatchEvent> {
  /** Resume point: the next revision to deliver; undefined until the server first answers. */
  nextRevision: number | undefined;
  /** Set by the connection: the id of this watch on the current socket. */
  id = 0;
  /** True once the server confirmed the watch on the current socket. */
  live = false;
  private ended = false;
  private failure: WatchKvClientError | undefined;
  private pending: WatchBatch[] = [];
  private readonly firstCreated: Promise<number>;
  private resolveCreated!: (rev: number) => void;
  private rejectCreated!: (err: Error) => void;

  constructor(
    private readonly host: WatchHost,
    /** The create_request body (key, range, flags) without start_revision and watch_id. */
    readonly request: Record<string, unknown>,
    startRevision: number | undefined,
  ) {
    super();
    this.nextRevision = startRevision && startRevision > 0 ? startRevision : undefined;
    this.firstCreated = new Promise((res, rej) => {
      this.resolveCreated = res;
      this.rejectCreated = rej;
    });
    this.firstCreated.catch(() => {}); // read through created(); not an unhandled rejection
  }

  /** Resolves with the header revision once the server has set the watch up. */
  created(): Promise<number> {
    return this.firstCreated;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Stops the watch (cancels it on the server). */
  close(): void {
    if (this.ended) return;
    this.host.cancel(this);
    this.finish(undefined);
  }

  /** Asks the server to confirm progress of every watch on the socket. */
  requestProgress(): void {
    this.host.requestProgress();
  }

  override on<K extends keyof WatchEventsMap>(event: K, fn: Listener<WatchEventsMap[K]>): () => void {
    const off = super.on(event, fn);
    if (event === 'events' && this.pending.length > 0) {
      const held = this.pending;
      this.pending = [];
      for (const b of held) (fn as Listener<WatchBatch>)(b);
    }
    return off;
  }

  // ---- called by the connection ----

  onCreated(headerRevision: number): void {
    this.live = true;
    // Without a start revision, the watch starts after the revision the server was at.
    if (this.nextRevision === undefined) this.nextRevision = headerRevision + 1;
    this.resolveCreated(headerRevision);
    this.emit('created', headerRevision);
  }

  onEvents(events: WatchEvent[]): void {
    if (this.ended || events.length === 0) return;
    // Defensive: never hand out a revision twice, whatever a server does after a resume.
    const from = this.nextRevision ?? 0;
    if (events[0]!.revision < from) events = events.filter((e) => e.revision >= from);
    if (events.length === 0) return;
    const revision = events[events.length - 1]!.revision;
    this.nextRevision = revision + 1;
    const batch = { events, revision };
    if (this.has('events')) this.emit('events', batch);
    else this.pending.push(batch);
  }

  onProgress(revision: number): void {
    if (this.ended) return;
    if (this.nextRevision === undefined || revision + 1 > this.nextRevision) this.nextRevision = revision + 1;
    this.emit('progress', revision);
  }

  onDisconnected(reason: string): void {
    this.live = false;
    if (!this.ended) this.emit('disconnected', { reason });
  }

  /** Ends the watch with an error (already removed from the connection). */
  fail(err: WatchKvClientError): void {
    if (this.ended) return;
    this.rejectCreated(err);
    this.finish(err);
  }

  private finish(err: WatchKvClientError | undefined): void {
    this.ended = true;
    this.live = false;
    this.failure = err;
    this.rejectCreated(new ClosedError('watch closed'));
    if (err) this.emit('error', err);
    this.emit('closed', undefined);
  }

  /** Events one at a time; throws the error that ended the watch (after the events before it); ends at close(). */
  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    const queue: WatchEvent[] = [];
    let head = 0;
    let wake: (() => void) | undefined;
    const offEvents = this.on('events', (b) => {
      for (const e of b.events) queue.push(e);
      wake?.();
    });
    const offClosed = this.on('closed', () => wake?.());
    const cleanup = (): void => {
      offEvents();
      offClosed();
    };
    return {
      next: async (): Promise<IteratorResult<WatchEvent>> => {
        for (;;) {
          // After close() nothing more is handed out; after an error, what came before it is.
          if (head < queue.length && !(this.ended && !this.failure)) {
            const value = queue[head++]!;
            if (head > 1024 && head * 2 > queue.length) {
              queue.splice(0, head);
              head = 0;
            }
            return { value, done: false };
          }
          if (this.ended) {
            cleanup();
            if (this.failure) throw this.failure;
            return { value: undefined, done: true };
          }
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
      },
      return: async (): Promise<IteratorResult<WatchEvent>> => {
        cleanup();
        this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
