/**
 * Group commit for one queue's transitions: every change marked during a turn of the event loop
 * is written in one txn (or a few, maxTxnOps ops each), and the store's group commit makes the
 * txns of many turns durable with one fsync. So a queue costs about one fsync per batch of
 * transitions, not one per item.
 *
 * Memory leads, the store follows (queue-state.ts): a transition changes the in-memory item at
 * once and marks its key dirty here; the op is built when the batch is written, from the item's
 * state at that moment, so a key changed twice before a flush is written once (a delivery then
 * an ack: only the delete). Batches of one queue are called strictly in order (up to
 * MAX_IN_FLIGHT at once) and the store applies txns in call order, so the store always holds a
 * prefix of the queue's history.
 *
 * A failed batch (the store refused it: disk full, closing) rejects its waiters; entries marked
 * `retry` (item transitions, whose new state memory already shows) are written again after
 * `retryMs`, so memory and the store meet again once the store accepts writes.
 */
import { kvError } from '../errors.ts';
import type { RequestOp, TxnRequest, TxnResult } from '../mvcc/kv.ts';

export interface WriterHost {
  txn(req: TxnRequest): Promise<TxnResult>;
  /** ops: the most one txn may carry (the store's maxTxnOps). */
  maxTxnOps: number;
  /** bytes: the most one txn may carry (keys + values, the store's maxRequestBytes). */
  maxTxnBytes: number;
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

/** txns: how many batches of one queue may be on their way to disk at once. */
const MAX_IN_FLIGHT = 8;

export class QueueWriter {
  private dirty = new Map<string, Entry>();
  /** Work that must run alone, between two batches (purge). */
  private exclusive: Array<() => Promise<void>> = [];
  /** Batches called and not yet answered. */
  private inFlight = 0;
  /** An exclusive task is running: no batch may start. */
  private alone = false;
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
      if (this.closed) return reject(kvError('ERR_STOPPED'));
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
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  private isIdle(): boolean {
    return this.inFlight === 0 && !this.alone && this.dirty.size === 0 && this.exclusive.length === 0;
  }

  private kick(): void {
    if (this.scheduled || this.retryTimer || this.alone) return;
    this.scheduled = true;
    // After this turn, so every change of the turn joins the same batch.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /**
   * Starts batches for everything dirty (each at most maxTxnOps ops), in order and without
   * waiting for the previous one: the store applies txns in call order and makes them durable
   * together (group commit), so the store still follows memory's order.
   */
  private pump(): void {
    if (this.closed || this.alone || this.retryTimer) return;
    while (this.dirty.size > 0 && this.inFlight < MAX_IN_FLIGHT) this.startBatch();
    if (this.exclusive.length > 0 && this.dirty.size === 0) {
      // Everything marked before the task has been called: the task's txn comes after it.
      this.alone = true;
      const task = this.exclusive.shift()!;
      void task().finally(() => {
        this.alone = false;
        this.pump();
        this.settle();
      });
    }
    this.settle();
  }

  private settle(): void {
    if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  private startBatch(): void {
    const batch: Array<[string, Entry]> = [];
    const ops: RequestOp[] = [];
    let bytes = 0;
    for (const [key, e] of this.dirty) {
      const mine = e.build();
      const size = opsBytes(mine);
      if (ops.length > 0 && (ops.length + mine.length > this.host.maxTxnOps || bytes + size > this.host.maxTxnBytes)) break;
      this.dirty.delete(key);
      batch.push([key, e]);
      ops.push(...mine);
      bytes += size;
    }
    if (ops.length === 0) {
      for (const [, e] of batch) for (const w of e.waiters) w.resolve(0);
      return;
    }
    this.inFlight++;
    this.host.txn({ compare: [], success: ops, failure: [] }).then(
      (r) => {
        this.inFlight--;
        for (const [, e] of batch) for (const w of e.waiters) w.resolve(r.revision);
        this.pump();
      },
      (err) => {
        this.inFlight--;
        this.failed(batch, err);
        this.settle();
      },
    );
  }

  /** A batch failed (and, the store being ordered, every later one): retry what memory still shows. */
  private failed(batch: Array<[string, Entry]>, err: unknown): void {
    this.host.onError(err);
    for (const [, e] of batch) for (const w of e.waiters.splice(0)) w.reject(err);
    // Retryable entries go back first (a key marked again meanwhile supersedes its old entry).
    const again = new Map<string, Entry>();
    for (const [key, e] of batch) if (e.retry && !this.dirty.has(key)) again.set(key, e);
    for (const [key, e] of this.dirty) again.set(key, e);
    this.dirty = again;
    if (!this.closed && this.dirty.size > 0 && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, this.host.retryMs);
      this.retryTimer.unref();
    }
  }
}

/** Bytes of ops as the store counts them against maxRequestBytes (keys, range ends, values). */
export function opsBytes(ops: readonly RequestOp[]): number {
  let n = 0;
  for (const op of ops) {
    if ('put' in op) n += op.put.key.length + op.put.value.length;
    else if ('deleteRange' in op) n += op.deleteRange.key.length + (op.deleteRange.rangeEnd?.length ?? 0);
  }
  return n;
}
