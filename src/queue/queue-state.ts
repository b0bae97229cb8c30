/**
 * One queue in memory: its items, who holds what, and the dispatch of ready items to consumers.
 * Memory leads and the store follows: each transition changes an item here, synchronously, and
 * marks its key dirty in the queue's writer (queue-writer.ts), which writes it in the next batch.
 * A delivery is handed to its consumer only once its "in flight" record is durable.
 *
 *   items      id → item, every item that is ready or in flight, plus acked/dead ones until
 *              their delete is durable (state 'gone'/'dead': an ack for them finds nothing)
 *   ready      min-heap by `order` (enqueue revision · 256 + rank in that txn): FIFO, and a
 *              retried item keeps its place
 *   delayed    min-heap by not-before (backoff)
 *   deadlines  min-heap by in-flight deadline
 *   consumers  in join order; `rr` is where the next round-robin turn starts
 *
 * Heaps are never updated in place: an item pushed again gets a new `gen`, and an entry whose gen
 * (or state) no longer matches is skipped when it surfaces. One timer serves the earliest of the
 * delayed and deadline heaps; nothing polls.
 */
import { MinHeap } from '../lib/min-heap.ts';
import type { RequestOp } from '../mvcc/kv.ts';
import { backoffMs } from './backoff.ts';
import type { AckResult, Consumer, ConsumerOptions, ConsumerSink, FailureOutcome, QueueSettings, QueueStats } from './queue-api.ts';
import { itemKey, type ItemRecord } from './queue-keys.ts';
import type { QueueWriter } from './queue-writer.ts';
import { DEFAULT_SETTINGS } from './queue-settings.ts';
import { QueueConsumer, type ConsumerHost } from './queue-consumer.ts';
import { itemOps, type Item } from './queue-item.ts';

export { QueueConsumer } from './queue-consumer.ts';

interface Slot {
  item: Item;
  gen: number;
}

export interface QueueClock {
  /** Wall-clock ms since the epoch (deadlines and backoffs are stored, so they must survive a restart). */
  now(): number;
  random(): number;
}

export class QueueState implements ConsumerHost {
  readonly items = new Map<string, Item>();
  private readonly ready = new MinHeap<Slot>();
  private readonly delayed = new MinHeap<Slot>();
  private readonly deadlines = new MinHeap<Slot>();
  private readonly consumers: QueueConsumer[] = [];
  private rr = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private dispatchQueued = false;
  private closed = false;
  // Counters kept on every state change (stats answer in O(1) but oldest_ready_age_ms).
  private readyCount = 0;
  private delayedCount = 0;
  private inFlightCount = 0;
  dead = 0;
  settings: QueueSettings = { ...DEFAULT_SETTINGS };
  /** True once a settings record exists (PUT /v1/queues/{name} or a stored one). */
  configured = false;
  /** Settings writes of ours on their way to disk: the commit listener leaves `settings` alone. */
  settingsWrites = 0;

  constructor(
    readonly name: string,
    readonly writer: QueueWriter,
    private readonly clock: QueueClock,
  ) {}

  // ---- adoption (restore, commit listener) ----

  /** Takes an item from its record: ready, in flight (an HTTP take's, keeping its deadline), or returned (a WebSocket's, whose connection died with the server). */
  adopt(id: string, record: ItemRecord, enqueuedRevision: number, rank: number): void {
    if (this.items.has(id)) return;
    const item: Item = {
      id,
      key: itemKey(this.name, id),
      valueJson: record.valueJson,
      enqueuedRevision,
      order: enqueuedRevision * 256 + Math.min(rank, 255),
      enqueuedAt: record.enqueuedAt,
      attempts: record.attempts,
      state: 'gone', // set just below, so the counters see the change
      delayed: false,
      notBefore: record.notBefore,
      deadline: record.deadline,
      holderKind: record.holder,
      holder: undefined,
      sent: record.state === 'inflight',
      history: record.history,
      gen: 0,
    };
    this.items.set(id, item);
    if (record.state === 'inflight') {
      this.setState(item, 'inflight');
      if (record.holder === 'http') this.pushDeadline(item);
      else void this.fail(item, 'restart').catch(() => {});
    } else this.makeReady(item);
    this.scheduleDispatch();
  }

  /** The item's key was deleted by someone else (a direct delete of queue keys): forget it. */
  forget(id: string): void {
    const item = this.items.get(id);
    if (!item || item.state === 'gone' || item.state === 'dead') return;
    item.holder?.heldItems.delete(item);
    item.holder = undefined;
    this.setState(item, 'gone');
    this.items.delete(id);
  }

  // ---- consumers ----

  consume(sink: ConsumerSink, options: ConsumerOptions): Consumer {
    const c = new QueueConsumer(this, sink, options);
    this.consumers.push(c);
    return c;
  }

  /** @internal QueueConsumer.close */
  leave(c: QueueConsumer, returnItems: boolean): void {
    const i = this.consumers.indexOf(c);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    if (this.rr > i) this.rr--;
    for (const item of [...c.heldItems]) {
      if (!item.sent) this.undeliver(item);
      else if (returnItems) void this.fail(item, 'disconnect').catch(() => {});
      else item.holder = undefined;
    }
    c.heldItems.clear();
    this.scheduleDispatch();
  }

  // ---- operations ----

  ack(ids: readonly string[]): Promise<AckResult> {
    const done: string[] = [];
    const notFound: string[] = [];
    const writes: Array<Promise<number>> = [];
    for (const id of ids) {
      const item = this.items.get(id);
      if (!item || item.state === 'gone' || item.state === 'dead') {
        notFound.push(id);
        continue;
      }
      item.holder?.heldItems.delete(item);
      item.holder = undefined;
      this.setState(item, 'gone');
      done.push(id);
      writes.push(this.persist(item));
    }
    return Promise.all(writes).then(() => ({ done, notFound }));
  }

  nack(ids: readonly string[], delayMs: number | undefined, by: QueueConsumer | undefined): Promise<AckResult> {
    return this.onHeld(ids, by, (item) => this.fail(item, 'nack', delayMs));
  }

  extend(ids: readonly string[], ms: number, by: QueueConsumer | undefined): Promise<AckResult> {
    return this.onHeld(ids, by, (item) => {
      item.deadline = this.clock.now() + ms;
      this.pushDeadline(item);
      return this.persist(item);
    });
  }

  private onHeld(ids: readonly string[], by: QueueConsumer | undefined, fn: (item: Item) => Promise<number>): Promise<AckResult> {
    const done: string[] = [];
    const notFound: string[] = [];
    const writes: Array<Promise<number>> = [];
    for (const id of ids) {
      const item = this.items.get(id);
      if (!item || item.state !== 'inflight' || !item.sent || (by && item.holder !== by)) {
        notFound.push(id);
        continue;
      }
      done.push(id);
      writes.push(fn(item));
    }
    return Promise.all(writes).then(() => ({ done, notFound }));
  }

  /** Drops every live item from memory (the caller deletes their keys in the same write slot). */
  dropAll(): number {
    let n = 0;
    for (const item of this.items.values()) {
      if (item.state === 'gone' || item.state === 'dead') continue;
      item.holder?.heldItems.delete(item);
      item.holder = undefined;
      this.setState(item, 'gone');
      n++;
    }
    this.items.clear();
    return n;
  }

  stats(): QueueStats {
    let oldest = Infinity;
    if (this.readyCount > 0) for (const item of this.items.values()) if (item.state === 'ready' && item.enqueuedAt < oldest) oldest = item.enqueuedAt;
    return {
      name: this.name,
      ready: this.readyCount,
      delayed: this.delayedCount,
      inFlight: this.inFlightCount,
      dead: this.dead,
      oldestReadyAgeMs: oldest === Infinity ? 0 : Math.max(0, this.clock.now() - oldest),
      consumers: this.consumers.length,
    };
  }

  /** Worth listing: has settings, items, dead items or consumers. */
  inUse(): boolean {
    return this.configured || this.items.size > 0 || this.dead > 0 || this.consumers.length > 0;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  // ---- transitions ----

  /** A delivery ended without ack: retry after a backoff (at once after a disconnect), or dead. */
  private fail(item: Item, outcome: FailureOutcome, delayMs?: number): Promise<number> {
    const now = this.clock.now();
    item.holder?.heldItems.delete(item);
    item.holder = undefined;
    item.holderKind = '';
    item.history.push({ attempt: item.attempts, outcome, at: now });
    if (item.attempts >= this.settings.maxAttempts) {
      this.setState(item, 'dead');
      return this.persist(item);
    }
    const immediate = outcome === 'disconnect' || outcome === 'restart';
    item.notBefore = now + (immediate ? 0 : (delayMs ?? backoffMs(item.attempts, this.settings, this.clock.random)));
    this.makeReady(item);
    this.scheduleDispatch();
    return this.persist(item);
  }

  /** A delivery that never reached its consumer: as if it had not happened. */
  private undeliver(item: Item): void {
    item.attempts--;
    item.holder = undefined;
    item.holderKind = '';
    this.makeReady(item);
    void this.persist(item).catch(() => {});
  }

  private makeReady(item: Item): void {
    this.setState(item, 'ready');
    item.gen++;
    if (item.notBefore > this.clock.now()) {
      item.delayed = true;
      this.delayedCount++;
      this.delayed.push(item.notBefore, { item, gen: item.gen });
      this.arm(item.notBefore);
    } else this.ready.push(item.order, { item, gen: item.gen });
  }

  private pushDeadline(item: Item): void {
    item.gen++;
    this.deadlines.push(item.deadline, { item, gen: item.gen });
    this.arm(item.deadline);
  }

  private setState(item: Item, state: Item['state']): void {
    if (item.delayed) {
      item.delayed = false;
      this.delayedCount--;
    }
    if (item.state === 'ready') this.readyCount--;
    else if (item.state === 'inflight') this.inFlightCount--;
    item.state = state;
    if (state === 'ready') this.readyCount++;
    else if (state === 'inflight') this.inFlightCount++;
  }

  /** Writes the item's current state in the next batch; gone/dead items leave memory once durable. */
  private persist(item: Item): Promise<number> {
    const p = this.writer.mark(item.key, () => this.opsOf(item));
    if (item.state === 'gone' || item.state === 'dead') {
      void p.then(
        () => {
          if (this.items.get(item.id) === item && (item.state === 'gone' || item.state === 'dead')) this.items.delete(item.id);
        },
        () => {},
      );
    }
    return p;
  }

  private opsOf(item: Item): RequestOp[] {
    if (this.items.get(item.id) !== item) return []; // purged since
    return itemOps(this.name, item);
  }

  // ---- dispatch ----

  scheduleDispatch(): void {
    if (this.dispatchQueued || this.closed) return;
    this.dispatchQueued = true;
    queueMicrotask(() => {
      this.dispatchQueued = false;
      this.dispatch();
    });
  }

  /** Hands ready items, FIFO, to consumers with credit, round-robin. */
  private dispatch(): void {
    if (this.closed) return;
    const now = this.clock.now();
    this.promoteDue(now);
    while (this.ready.size > 0 && this.consumers.length > 0) {
      const c = this.nextWithCredit();
      if (!c) break;
      const item = this.popReady();
      if (!item) break;
      c.creditLeft--;
      item.attempts++;
      this.setState(item, 'inflight');
      item.holder = c;
      item.holderKind = c.options.kind;
      item.sent = false;
      item.deadline = now + (c.options.visibilityMs ?? this.settings.visibilityMs);
      c.heldItems.add(item);
      this.pushDeadline(item);
      const attempt = item.attempts;
      this.persist(item).then(
        () => {
          // Still this delivery (not returned, acked or purged while it was being written)?
          if (item.holder !== c || item.attempts !== attempt || item.state !== 'inflight' || item.sent) return;
          item.sent = true;
          c.sink.deliver({ id: item.id, valueJson: item.valueJson, attempt, enqueuedRevision: item.enqueuedRevision, deadlineMs: item.deadline });
        },
        () => {
          // Not durable: the delivery is not sent; the writer retries the record and the deadline returns the item.
        },
      );
    }
  }

  private nextWithCredit(): QueueConsumer | undefined {
    const n = this.consumers.length;
    for (let k = 0; k < n; k++) {
      const i = (this.rr + k) % n;
      const c = this.consumers[i]!;
      if (c.creditLeft > 0) {
        this.rr = (i + 1) % n;
        return c;
      }
    }
    return undefined;
  }

  private popReady(): Item | undefined {
    for (;;) {
      const top = this.ready.pop();
      if (!top) return undefined;
      const { item, gen } = top.value;
      if (item.gen === gen && item.state === 'ready') return item;
    }
  }

  private promoteDue(now: number): void {
    while ((this.delayed.peekPriority() ?? Infinity) <= now) {
      const { item, gen } = this.delayed.pop()!.value;
      if (item.gen !== gen || item.state !== 'ready') continue;
      item.delayed = false;
      this.delayedCount--;
      item.gen++;
      this.ready.push(item.order, { item, gen: item.gen });
    }
  }

  private expireDue(now: number): void {
    while ((this.deadlines.peekPriority() ?? Infinity) <= now) {
      const { item, gen } = this.deadlines.pop()!.value;
      if (item.gen !== gen || item.state !== 'inflight' || item.deadline > now) continue;
      const holder = item.holder;
      void this.fail(item, 'deadline').catch(() => {});
      holder?.sink.expired?.(item.id);
    }
  }

  private arm(at: number): void {
    if (this.closed || at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, at - this.clock.now()) + 1);
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    this.expireDue(now);
    this.promoteDue(now);
    const next = Math.min(this.peekValid(this.delayed, 'ready'), this.peekValid(this.deadlines, 'inflight'));
    if (next < Infinity) this.arm(next);
    this.dispatch();
  }

  /** The earliest live entry's priority (stale entries on top are dropped). */
  private peekValid(heap: MinHeap<Slot>, state: Item['state']): number {
    for (;;) {
      const p = heap.peekPriority();
      if (p === undefined) return Infinity;
      const top = heap.pop()!;
      if (top.value.item.gen === top.value.gen && top.value.item.state === state) {
        heap.push(top.priority, top.value);
        return p;
      }
    }
  }
}
