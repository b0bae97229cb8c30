/**
 * Contracts of work queues: what a transport (HTTP, WebSocket, a test) sees. No code lives here.
 * The queue room knows nothing of HTTP or WebSocket; it speaks the store's KV contract.
 *
 * A queue is the key range `/queues/{name}/` (queue-keys.ts):
 *
 *   ready ──take/deliver (attempt+1)──▶ in flight ──ack──▶ (deleted)
 *     ▲                                   │
 *     └──── backoff (nack, deadline) ─────┤  attempts == max_attempts ──▶ dead (/queues/{name}/dead/)
 *     └──── at once (disconnect) ─────────┘
 *
 * Every transition is written to the store (one txn per batch of transitions, group commit) and
 * answered only once it is durable: an acknowledged enqueue, ack or settings change survives
 * kill -9. A delivery leaves the server only after its "in flight" record is durable.
 *
 * Semantics:
 * - Ids are decimal strings of 16 digits, increasing in allocation order; ready items leave
 *   FIFO by (enqueue revision, id), retried items keeping their place.
 * - `attempt` counts deliveries. A delivery that ends other than by ack (nack, the visibility
 *   deadline, the consumer's disconnect) is a failed attempt; after `maxAttempts` failed
 *   attempts the item moves to the dead letter with its history.
 * - Ack completes an item that still exists and is not dead, whoever holds it (the work is
 *   done); an unknown id is reported, not an error, so an ack can be repeated safely.
 * - Credits: a consumer is never handed more deliveries than the credit it gave; among
 *   consumers with credit, ready items go round-robin.
 */

/** Per-queue settings; every field has a default (DEFAULTS.queue*). */
export interface QueueSettings {
  /** ms an item may stay in flight before it counts as failed and is retried. */
  visibilityMs: number;
  /** ms: the first retry's backoff, and the lower bound of every backoff. */
  backoffMinMs: number;
  /** ms: the largest backoff; the bound doubles per failed attempt up to this. */
  backoffMaxMs: number;
  /** Failed deliveries after which an item moves to the dead letter. */
  maxAttempts: number;
}

export interface QueueStats {
  name: string;
  /** Items waiting to be delivered, including those in backoff. */
  ready: number;
  /** Of `ready`, those whose backoff has not ended yet. */
  delayed: number;
  inFlight: number;
  dead: number;
  /** Age of the oldest ready item (from its enqueue), 0 when none. */
  oldestReadyAgeMs: number;
  /** Connected consumers (WebSocket and waiting HTTP takes). */
  consumers: number;
}

/** One item as handed to a consumer. */
export interface Delivery {
  id: string;
  /** The item's value as JSON text (encoded once at enqueue). */
  valueJson: string;
  /** 1 on the first delivery, +1 on each. */
  attempt: number;
  enqueuedRevision: number;
  /** Wall-clock ms (epoch) by which the item must be acked. */
  deadlineMs: number;
}

/** How a delivery that was not acked ended. */
export type FailureOutcome = 'nack' | 'deadline' | 'disconnect' | 'restart';

/** Where deliveries go: implemented by the transport. */
export interface ConsumerSink {
  /** A durable delivery. Called at most `credit` times in total. */
  deliver(d: Delivery): void;
  /** An item this consumer held failed without its doing (the visibility deadline passed). */
  expired?(id: string): void;
}

/** One consumer on one queue (a WebSocket, or one HTTP take). */
export interface Consumer {
  /** Adds credit: up to this many more deliveries may come. */
  addCredit(n: number): void;
  /** Remaining credit. */
  credit(): number;
  /** Items granted to this consumer and not finished (sent or on their way to disk). */
  held(): number;
  /** Of held(), granted deliveries whose record is not durable yet (they will arrive or go back). */
  unsent(): number;
  /** Drops the remaining credit: deliveries already granted still arrive, no new ones. */
  drain(): void;
  /**
   * Leaves the queue. `returnItems`: in-flight items go back at once as failed attempts
   * (a WebSocket disconnect); items whose delivery was not sent yet go back untouched. Without
   * it (an HTTP take that answered) they stay in flight until ack, nack or the deadline.
   */
  close(returnItems: boolean): void;
}

export interface ConsumerOptions {
  /** 'ws' items return at once on disconnect and at restart; 'http' ones wait for their deadline. */
  kind: 'ws' | 'http';
  /** Visibility for this consumer's deliveries; the queue's setting when absent. */
  visibilityMs?: number;
}

export interface AckResult {
  done: string[];
  notFound: string[];
}

export interface QueueService {
  /** Enqueues `valuesJson` (each a JSON text) in one txn; resolves with ids once durable. */
  enqueue(name: string, valuesJson: readonly string[]): Promise<{ ids: string[]; revision: number }>;
  /** Joins a queue as a consumer with no credit yet. */
  consume(name: string, sink: ConsumerSink, options: ConsumerOptions): Consumer;
  /** Completes items (see the module comment); resolves once durable. */
  ack(name: string, ids: readonly string[]): Promise<AckResult>;
  /**
   * Fails in-flight items now: retried after `delayMs` (else the queue's backoff), or dead after
   * max attempts. `by`: only items that consumer holds. Items not in flight → notFound.
   */
  nack(name: string, ids: readonly string[], delayMs?: number, by?: Consumer): Promise<AckResult>;
  /** Moves an in-flight item's deadline to now + ms (only if `by` holds it, when given). */
  extend(name: string, ids: readonly string[], ms: number, by?: Consumer): Promise<AckResult>;
  /** The queue's settings (defaults for a queue never configured). */
  settings(name: string): QueueSettings;
  /** Creates or updates a queue; fields absent keep their value. Durable on resolve. */
  configure(name: string, patch: Partial<QueueSettings>): Promise<QueueSettings>;
  stats(name: string): QueueStats;
  /** Every queue with settings, items or dead items, by name. */
  list(): QueueStats[];
  /** Deletes ready and in-flight items (and dead ones with `dead`); resolves with the counts. */
  purge(name: string, dead: boolean): Promise<{ items: number; dead: number }>;
  close(): Promise<void>;
}
