import type { Backend, BatchOp } from '../backend/backend.ts';
import type { Event } from './kv.ts';

/** One write transaction waiting to become durable. */
export interface PendingCommit {
  revision: number;
  events: Event[];
}

/** A group of transactions made durable by one synced backend batch. */
class Batch {
  readonly ops: BatchOp[] = [];
  readonly commits: PendingCommit[] = [];
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (err: unknown) => void;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Waiters attach their own handlers; a batch nobody waits on must not crash the process.
    this.done.catch(() => {});
  }
}

export interface CommitQueueHooks {
  /** Called, in order, once a batch is on disk and before its writers are acknowledged. */
  durable(commits: readonly PendingCommit[]): void;
  /** Called when a batch could not be written; that batch and every later one were rejected. */
  failed(err: unknown): void;
}

/**
 * Group commit. Writers append their records and wait; while one synced batch is being written,
 * everything appended meanwhile gathers into the next, so one fsync acknowledges many
 * transactions and throughput is not bound by fsync latency.
 *
 * Invariants: at most one batch is being written (`inflight`); batches are written, published
 * and acknowledged in the order they were filled, so revisions become durable in order.
 */
export class CommitQueue {
  private pending = new Batch();
  private inflight: Batch | null = null;
  private running = false;

  constructor(
    private readonly backend: Backend,
    private readonly hooks: CommitQueueHooks,
  ) {}

  /** Appends a transaction's records; resolves once they are durable. */
  append(ops: readonly BatchOp[], commit?: PendingCommit): Promise<void> {
    const batch = this.pending;
    for (const op of ops) batch.ops.push(op);
    if (commit) batch.commits.push(commit);
    if (!this.running) void this.run();
    return batch.done;
  }

  /** Resolves once everything appended so far is durable (read-only txns wait on this). */
  barrier(): Promise<void> {
    if (this.pending.ops.length > 0) return this.pending.done;
    if (this.inflight) return this.inflight.done;
    return Promise.resolve();
  }

  /** True while nothing is waiting to be written. */
  idle(): boolean {
    return !this.running && this.pending.ops.length === 0;
  }

  private async run(): Promise<void> {
    this.running = true;
    // Let every writer of this event-loop turn join the first batch, not only those a microtask
    // away: requests read from one socket chunk reach append() after a few awaits each, and a
    // batch started after one microtask took the first and left the rest a whole fsync cycle
    // behind (measured: a third of the batches held 1-3 transactions under a 50-call load).
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.ops.length > 0) {
      const batch = this.pending;
      this.pending = new Batch();
      this.inflight = batch;
      try {
        await this.backend.write(batch.ops);
      } catch (err) {
        const later = this.pending;
        this.pending = new Batch();
        this.inflight = null;
        this.running = false;
        batch.reject(err);
        later.reject(err);
        this.hooks.failed(err);
        return;
      }
      this.inflight = null;
      this.hooks.durable(batch.commits);
      batch.resolve();
    }
    this.running = false;
  }
}
