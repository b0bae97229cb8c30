/**
 * Group commit for one queue's transitions: every change marked during a turn of the event loop
 * is written in ONE txn, and while that txn is on its way to disk the next changes gather for
 * the following one. So a queue costs about one fsync per batch of transitions, not one per item.
 *
 * Memory leads, the store follows (queue-state.ts): a transition changes the in-memory item at
 * once and marks its key dirty here; the op is built when the batch is written, from the item's
 * state at that moment, so a key changed twice before a flush is written once (a delivery then
 * an ack: only the delete). Batches of one queue are written strictly in order, one at a time,
 * so the store always holds a prefix of the queue's history.
 *
 * A failed batch (the store refused it: disk full, closing) rejects its waiters; entries marked
 * `retry` (item transitions, whose new state memory already shows) are written again after
 * `retryMs`, so memory and the store meet again once the store accepts writes.
 */
import type { RequestOp, TxnRequest, TxnResult } from '../mvcc/kv.ts';

export interface WriterHost {
  txn(req: TxnRequest): Promise<TxnResult>;
  /** ops: the most one txn may carry (the store's maxTxnOps). */
  maxTxnOps: number;
  /** ms before a failed batch's retryable entries are written again. */
  retryMs: number;
  onError(err: unknown): void;
}

interface Entry {
  /** Builds the ops from the current state; [] = nothing to write any more. */
  build: () => RequestOp[];
  retry: boolean;
  waiters: Array<{ resolve: (revision: number) => void; reject: (err: unknown) => void }>;
}

export class QueueWriter {
  private dirty = new Map<string, Entry>();
  /** Work that must run alone, between two batches (purge). */
  private exclusive: Array<() => Promise<void>> = [];
  private running = false;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly host: WriterHost) {}

  /**
   * Marks `key` dirty; resolves with the revision of the txn that wrote it. A key already dirty
   * keeps its place and its first builder's kind (`retry`), but the newest builder.
   */
  mark(key: string, build: () => RequestOp[], retry = true): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('queue writer closed'));
      const e = this.dirty.get(key);
      if (e) {
        e.build = build;
        e.waiters.push({ resolve, reject });
      } else this.dirty.set(key, { build, retry, waiters: [{ resolve, reject }] });
      this.kick();
    });
  }

  /** Runs `fn` after everything marked so far is written and before anything marked later. */
  runAlone<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      this.exclusive.push(() => fn().then(resolve, reject));
      this.kick();
    });
  }

  /** Resolves once nothing is dirty or being written (for close). */
  idle(): Promise<void> {
    if (!this.running && this.dirty.size === 0 && this.exclusive.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  private kick(): void {
    if (this.running || this.scheduled || this.retryTimer) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.loop();
    });
  }

  private async loop(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.closed && (this.dirty.size > 0 || this.exclusive.length > 0)) {
        if (this.exclusive.length > 0) {
          // First what was marked before the exclusive work, then the work itself.
          if (this.dirty.size > 0 && !(await this.flushOnce())) break;
          await this.exclusive.shift()!();
          continue;
        }
        if (!(await this.flushOnce())) break;
      }
    } finally {
      this.running = false;
      if (!this.retryTimer && this.dirty.size === 0 && this.exclusive.length === 0) {
        for (const w of this.idleWaiters.splice(0)) w();
      }
    }
  }

  /** Writes one batch; false when it failed (a retry is scheduled). */
  private async flushOnce(): Promise<boolean> {
    const batch: Array<[string, Entry]> = [];
    const ops: RequestOp[] = [];
    for (const [key, e] of this.dirty) {
      const mine = e.build();
      if (ops.length > 0 && ops.length + mine.length > this.host.maxTxnOps) break;
      this.dirty.delete(key);
      batch.push([key, e]);
      ops.push(...mine);
    }
    if (ops.length === 0) {
      for (const [, e] of batch) for (const w of e.waiters) w.resolve(0);
      return true;
    }
    try {
      const r = await this.host.txn({ compare: [], success: ops, failure: [] });
      for (const [, e] of batch) for (const w of e.waiters) w.resolve(r.revision);
      return true;
    } catch (err) {
      this.host.onError(err);
      for (const [, e] of batch) for (const w of e.waiters.splice(0)) w.reject(err);
      // Retryable entries go back first (a key marked again meanwhile supersedes its old entry).
      const again = new Map<string, Entry>();
      for (const [key, e] of batch) if (e.retry && !this.dirty.has(key)) again.set(key, e);
      for (const [key, e] of this.dirty) again.set(key, e);
      this.dirty = again;
      if (!this.closed && this.dirty.size > 0) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, this.host.retryMs);
        this.retryTimer.unref();
      }
      return false;
    }
  }
}
