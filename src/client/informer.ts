/**
 * An informer: a local cache of every key under a prefix, kept equal to the server.
 *
 *   1. List the prefix at one revision R (paged, every page at R).
 *   2. Watch from R + 1; apply each event to the cache and emit it as a change.
 *   3. When the watch cannot go on exactly (its resume point was compacted, the server canceled
 *      it, or the socket was away longer than `relistAfterDisconnectMs`), list again at a new
 *      R' and emit the *difference* between the cache and that list as synthetic changes:
 *      add for a new key, update for a key whose mod revision changed, delete for a key gone.
 *      Replaying the emitted changes onto a copy of the cache therefore always gives the cache:
 *      the consumer never sees a gap, only (possibly) fewer intermediate versions.
 *
 * Invariant: after every emitted change, `cache` equals the server's range at `revision`, except
 * within one revision's batch of events (applied and emitted one by one).
 */
import { Backoff } from './backoff.ts';
import { toBase64, toBytes, type BytesLike } from './bytes.ts';
import { Emitter } from './emitter.ts';
import { CompactedError, type WatchKvClientError } from './errors.ts';
import type { KeyValue, WatchEvent } from './types.ts';
import type { Watch, WatchOptions } from './watch.ts';
import type { KvApi } from './kv.ts';

export interface InformerOptions {
  /** Keys per page when listing (default 5,000). */
  pageSize?: number;
  /** ms: after a disconnect this long, relist instead of replaying history (default 300,000). */
  relistAfterDisconnectMs?: number;
}

export interface InformerChange {
  type: 'add' | 'update' | 'delete';
  /** The key's newest state; for a delete, its last known state. */
  kv: KeyValue;
  /** For an update or delete: the state before. */
  prevKv?: KeyValue;
  /** The revision the cache reflects once this change is applied. */
  revision: number;
  /** True when the change comes from a list (initial or relist), not from a watch event. */
  synthetic: boolean;
}

export interface InformerEvents {
  change: InformerChange;
  /** A list finished: the cache equals the server at this revision. */
  synced: { revision: number; relist: boolean };
  /** A relist is starting, and why. */
  relist: { reason: string };
  /** A list failed (it is retried with backoff); or the watch ended and a relist follows. */
  error: WatchKvClientError | Error;
}

/**
 * What an informer needs of the client: paged lists and a watch. (WatchKvClient is one; a narrow
 * type keeps client.ts and informer.ts from importing each other.)
 */
export interface InformerSource {
  readonly kv: Pick<KvApi, 'pages'>;
  watch(key: BytesLike, o?: WatchOptions): Watch;
}

export class Informer extends Emitter<InformerEvents> {
  private readonly cache = new Map<string, KeyValue>();
  private readonly prefixBytes: Uint8Array;
  private watch: Watch | undefined;
  private rev = 0;
  private started = false;
  private closed = false;
  private generation = 0;
  private disconnectedAt: number | undefined;
  private readonly backoff = new Backoff({ initialMs: 100, maxMs: 5_000 });
  private readonly watchBackoff = new Backoff({ initialMs: 100, maxMs: 10_000 });
  private readonly firstSync: Promise<void>;
  private resolveSync!: () => void;
  /** How many lists ran (the first one included). */
  lists = 0;

  constructor(
    private readonly client: InformerSource,
    prefix: BytesLike,
    private readonly o: InformerOptions = {},
  ) {
    super();
    this.prefixBytes = toBytes(prefix);
    this.firstSync = new Promise((r) => (this.resolveSync = r));
  }

  /** Starts listing and watching; resolves once the cache first equals the server. */
  start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      void this.relist('initial list');
    }
    return this.firstSync;
  }

  /** Same as start(): the promise of the first complete list. */
  synced(): Promise<void> {
    return this.start();
  }

  /** The revision the cache reflects. */
  get revision(): number {
    return this.rev;
  }

  get size(): number {
    return this.cache.size;
  }

  get(key: BytesLike): KeyValue | undefined {
    return this.cache.get(toBase64(key));
  }

  /** Every cached key-value, in key (byte) order. */
  list(): KeyValue[] {
    const kvs = [...this.cache.values()];
    const bytes = new Map(kvs.map((kv) => [kv, kv.keyBytes]));
    return kvs.sort((a, b) => compareBytes(bytes.get(a)!, bytes.get(b)!));
  }

  close(): void {
    this.closed = true;
    this.generation++;
    this.watch?.close();
    this.watch = undefined;
  }

  /** Lists again and emits the difference (also the first list). Retries until it succeeds. */
  private async relist(reason: string, delayMs = 0): Promise<void> {
    const gen = ++this.generation;
    this.watch?.close();
    this.watch = undefined;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const first = this.lists === 0;
    if (!first) this.emit('relist', { reason });
    for (;;) {
      if (this.closed || gen !== this.generation) return;
      try {
        const fresh = new Map<string, KeyValue>();
        let revision = 0;
        for await (const page of this.client.kv.pages(this.prefixBytes, { prefix: true, pageSize: this.o.pageSize ?? 5000 })) {
          if (this.closed || gen !== this.generation) return;
          revision = page.revision;
          for (const kv of page.kvs) fresh.set(kv.keyBase64, kv);
        }
        this.lists++;
        this.backoff.reset();
        this.applyList(fresh, revision);
        this.emit('synced', { revision, relist: !first });
        this.startWatch(gen);
        this.resolveSync();
        return;
      } catch (err) {
        if (this.closed || gen !== this.generation) return;
        this.emit('error', err as Error);
        await new Promise((r) => setTimeout(r, this.backoff.next()));
      }
    }
  }

  /** Makes the cache equal `fresh` (a list at `revision`), emitting each difference. */
  private applyList(fresh: Map<string, KeyValue>, revision: number): void {
    this.rev = revision;
    for (const [k, old] of this.cache) {
      if (fresh.has(k)) continue;
      this.cache.delete(k);
      this.emit('change', { type: 'delete', kv: old, prevKv: old, revision, synthetic: true });
    }
    for (const [k, kv] of fresh) {
      const old = this.cache.get(k);
      if (old && old.modRevision === kv.modRevision) continue;
      this.cache.set(k, kv);
      if (old) this.emit('change', { type: 'update', kv, prevKv: old, revision, synthetic: true });
      else this.emit('change', { type: 'add', kv, revision, synthetic: true });
    }
  }

  private startWatch(gen: number): void {
    const w = this.client.watch(this.prefixBytes, { prefix: true, startRevision: this.rev + 1 });
    this.watch = w;
    w.on('events', (b) => {
      if (gen !== this.generation) return;
      this.watchBackoff.reset();
      for (const ev of b.events) this.applyEvent(ev);
      this.rev = b.revision;
    });
    w.on('progress', (revision) => {
      if (gen === this.generation && revision > this.rev) this.rev = revision;
    });
    w.on('disconnected', () => {
      this.disconnectedAt ??= Date.now();
    });
    w.on('created', () => {
      const since = this.disconnectedAt;
      this.disconnectedAt = undefined;
      if (since !== undefined && Date.now() - since > (this.o.relistAfterDisconnectMs ?? 300_000)) void this.relist('long disconnect');
    });
    w.on('error', (err) => {
      if (gen !== this.generation || this.closed) return;
      this.emit('error', err);
      // Compaction is expected and the relist cures it; any other end (say, too many watchers)
      // could repeat at once, so it waits a growing backoff first (reset by a watch that lives).
      if (err instanceof CompactedError) void this.relist('compacted');
      else void this.relist(`watch ended: ${err.message}`, this.watchBackoff.next());
    });
  }

  private applyEvent(ev: WatchEvent): void {
    const k = ev.kv.keyBase64;
    const old = this.cache.get(k);
    if (ev.type === 'put') {
      this.cache.set(k, ev.kv);
      if (old) this.emit('change', { type: 'update', kv: ev.kv, prevKv: old, revision: ev.revision, synthetic: false });
      else this.emit('change', { type: 'add', kv: ev.kv, revision: ev.revision, synthetic: false });
    } else if (old) {
      this.cache.delete(k);
      this.emit('change', { type: 'delete', kv: old, prevKv: old, revision: ev.revision, synthetic: false });
    }
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
