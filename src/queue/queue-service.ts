/**
 * The queue service: every queue's state (queue-state.ts), restored from the store at open and
 * kept in step with it through the store's commit notifications.
 *
 * Who writes what:
 * - Transitions of known items are written by the queue's writer; memory already shows them, so
 *   the commit listener ignores their events.
 * - New items are only *written* by enqueue; they enter memory from the commit listener when
 *   their txn is durable (before the enqueuer is answered). That is what wakes consumers: the
 *   store's own commit notification, never a poll. Items put under /queues/{name}/items/ by any
 *   other writer (etcdctl, a txn) are adopted the same way.
 * - A delete of a live item by another writer makes memory forget it; dead-letter counts follow
 *   the dead keys' creates and deletes.
 *
 * Ids: 16 decimal digits from a counter that starts above both the largest id in the store and
 * the current time in µs, so ids keep increasing across restarts even when every item was acked.
 */
import { DEFAULTS } from '../config.ts';
import { kvError } from '../errors.ts';
import type { Event, KV, KeyValue, RequestOp } from '../mvcc/kv.ts';
import type { AckResult, Consumer, ConsumerOptions, ConsumerSink, QueueService, QueueSettings, QueueStats } from './queue-api.ts';
import {
  QUEUE_NAME,
  QUEUES_PREFIX,
  deadPrefix,
  decodeItem,
  encodeItem,
  itemKey,
  itemsPrefix,
  parseQueueKey,
  prefixEnd,
  settingsKey,
  type ItemRecord,
} from './queue-keys.ts';
import { DEFAULT_SETTINGS, decodeSettings, encodeSettings, mergeSettings } from './queue-settings.ts';
import { QueueConsumer, QueueState, type QueueClock } from './queue-state.ts';
import { QueueWriter, opsBytes } from './queue-writer.ts';

/** bytes: room left in a txn for an item's failure history (max_attempts ≤ 1000, ~50 B each). */
const HISTORY_RESERVE_BYTES = 64 * 1024;

export interface QueueServiceOptions {
  /** ops: most ops per txn (the store's limit); also the largest enqueue batch. */
  maxTxnOps: number;
  /** bytes: most bytes per txn (the store's limit); also the largest enqueue batch. */
  maxRequestBytes: number;
  /** records read per page while restoring. */
  scanBatchRecords: number;
  writeRetryMs: number;
  /** Wall clock and randomness (tests pass fixed ones). */
  clock: QueueClock;
  onError: (err: unknown) => void;
}

/** Opens the queues on a store: subscribes to its commits, then reads every queue key once. */
export async function openQueues(kv: KV, options: Partial<QueueServiceOptions> = {}): Promise<QueueServiceImpl> {
  const svc = new QueueServiceImpl(kv, {
    maxTxnOps: options.maxTxnOps ?? DEFAULTS.maxTxnOps,
    maxRequestBytes: options.maxRequestBytes ?? DEFAULTS.maxRequestBytes,
    scanBatchRecords: options.scanBatchRecords ?? DEFAULTS.scanBatchRecords,
    writeRetryMs: options.writeRetryMs ?? DEFAULTS.queueWriteRetryMs,
    clock: options.clock ?? { now: () => Date.now(), random: Math.random },
    onError: options.onError ?? (() => {}),
  });
  await svc.restore();
  return svc;
}

export function checkQueueName(name: string): void {
  if (!QUEUE_NAME.test(name)) {
    throw kvError('ERR_INVALID_ARGUMENT', `invalid queue name ${JSON.stringify(name.slice(0, 140))}: use 1 to 128 of A-Z a-z 0-9 . _ -`);
  }
}

export class QueueServiceImpl implements QueueService {
  private readonly queues = new Map<string, QueueState>();
  private readonly unsubscribe: () => void;
  private nextId: number;
  private closed = false;
  /** Records of enqueues on their way to disk: the commit listener adopts them without decoding. */
  private readonly ownEnqueues = new Map<string, ItemRecord>();

  constructor(
    private readonly kv: KV,
    private readonly options: QueueServiceOptions,
  ) {
    this.nextId = options.clock.now() * 1000;
    this.unsubscribe = kv.onCommit((revision, events) => this.onCommit(revision, events));
  }

  /**
   * Reads the queues back at one revision, in pages: first every key under /queues/ without
   * values (names, dead-letter counts, the largest id: a big dead letter is never read), then
   * each queue's items and settings with their values.
   */
  async restore(): Promise<void> {
    let revision = 0;
    const scan = async (prefix: string, keysOnly: boolean, each: (kv: KeyValue) => void): Promise<void> => {
      const end = prefixEnd(prefix);
      let from = Buffer.from(prefix, 'utf8');
      for (;;) {
        const r = await this.kv.range({ key: from, rangeEnd: end, limit: this.options.scanBatchRecords, revision, keysOnly });
        revision = r.revision;
        for (const kv of r.kvs) each(kv);
        if (!r.more || r.kvs.length === 0) return;
        from = Buffer.concat([r.kvs[r.kvs.length - 1]!.key, Buffer.from([0])]);
      }
    };
    const withItems = new Set<string>();
    const configured = new Set<string>();
    await scan(QUEUES_PREFIX, true, (kv) => {
      const k = parseQueueKey(kv.key.toString('utf8'));
      if (!k) return;
      if (k.kind === 'settings') configured.add(k.name);
      else {
        this.seeId(k.id);
        if (k.kind === 'dead') this.queue(k.name).dead++;
        else withItems.add(k.name);
      }
    });
    for (const name of configured) {
      const r = await this.kv.range({ key: Buffer.from(settingsKey(name), 'utf8'), revision });
      const q = this.queue(name);
      if (r.kvs[0]) q.settings = decodeSettings(r.kvs[0].value);
      q.configured = true;
    }
    const found: Array<{ name: string; id: string; rev: number; value: Buffer }> = [];
    for (const name of withItems) {
      await scan(itemsPrefix(name), false, (kv) => {
        const k = parseQueueKey(kv.key.toString('utf8'));
        if (k?.kind === 'item') found.push({ name: k.name, id: k.id, rev: kv.createRevision, value: kv.value });
      });
    }
    // Keys come sorted by id; the rank among items of one revision keeps their order.
    let lastRev = -1;
    let rank = 0;
    for (const f of found.sort((a, b) => a.rev - b.rev || (a.id < b.id ? -1 : 1))) {
      rank = f.rev === lastRev ? rank + 1 : 0;
      lastRev = f.rev;
      const record = decodeItem(f.value);
      if (record) this.queue(f.name).adopt(f.id, record, f.rev, rank);
    }
  }

  // ---- QueueService ----

  async enqueue(name: string, valuesJson: readonly string[]): Promise<{ ids: string[]; revision: number }> {
    this.checkOpen();
    checkQueueName(name);
    if (valuesJson.length === 0) throw kvError('ERR_INVALID_ARGUMENT', 'nothing to enqueue: the batch is empty');
    if (valuesJson.length > this.options.maxTxnOps) {
      throw kvError('ERR_TOO_MANY_OPS', `a batch may hold at most ${this.options.maxTxnOps} items (one txn), got ${valuesJson.length}`);
    }
    const q = this.queue(name);
    const now = this.options.clock.now();
    const ids: string[] = [];
    const ops: RequestOp[] = valuesJson.map((valueJson) => {
      const id = this.allocId();
      ids.push(id);
      const record: ItemRecord = { state: 'ready', attempts: 0, enqueuedAt: now, notBefore: 0, deadline: 0, holder: '', history: [], valueJson };
      this.ownEnqueues.set(id, record);
      return { put: { key: Buffer.from(itemKey(name, id), 'utf8'), value: encodeItem(record) } };
    });
    // An item's record grows with its failure history; it must still fit one txn when dead.
    const itemMax = this.options.maxRequestBytes - HISTORY_RESERVE_BYTES;
    for (const op of ops) {
      if (opsBytes([op]) > itemMax) {
        for (const id of ids) this.ownEnqueues.delete(id);
        throw kvError('ERR_REQUEST_TOO_LARGE', `an item may be at most ${itemMax} bytes with its key and record (the request limit less ${HISTORY_RESERVE_BYTES} bytes kept for its history)`);
      }
    }
    if (opsBytes(ops) > this.options.maxRequestBytes) {
      for (const id of ids) this.ownEnqueues.delete(id);
      throw kvError('ERR_REQUEST_TOO_LARGE', `the batch is larger than ${this.options.maxRequestBytes} bytes (one txn): send fewer items per request`);
    }
    // New keys: written once, never retried (a failed enqueue is reported and did not happen).
    try {
      const revision = await q.writer.mark(`enqueue:${ids[0]}`, () => ops, false);
      return { ids, revision };
    } finally {
      for (const id of ids) this.ownEnqueues.delete(id);
    }
  }

  consume(name: string, sink: ConsumerSink, options: ConsumerOptions): Consumer {
    this.checkOpen();
    checkQueueName(name);
    return this.queue(name).consume(sink, options);
  }

  // Ack, nack and extend on a queue that does not exist find nothing (and create nothing).

  async ack(name: string, ids: readonly string[]): Promise<AckResult> {
    this.checkOpen();
    checkQueueName(name);
    const q = this.queues.get(name);
    return q ? q.ack(ids) : { done: [], notFound: [...ids] };
  }

  async nack(name: string, ids: readonly string[], delayMs?: number, by?: Consumer): Promise<AckResult> {
    this.checkOpen();
    checkQueueName(name);
    const q = this.queues.get(name);
    return q ? q.nack(ids, delayMs, by as QueueConsumer | undefined) : { done: [], notFound: [...ids] };
  }

  async extend(name: string, ids: readonly string[], ms: number, by?: Consumer): Promise<AckResult> {
    this.checkOpen();
    checkQueueName(name);
    const q = this.queues.get(name);
    return q ? q.extend(ids, ms, by as QueueConsumer | undefined) : { done: [], notFound: [...ids] };
  }

  settings(name: string): QueueSettings {
    checkQueueName(name);
    return { ...(this.queues.get(name)?.settings ?? DEFAULT_SETTINGS) };
  }

  async configure(name: string, patch: Partial<QueueSettings>): Promise<QueueSettings> {
    this.checkOpen();
    checkQueueName(name);
    const q = this.queue(name);
    const next = mergeSettings(q.settings, patch);
    q.settings = next;
    q.configured = true;
    q.settingsWrites++;
    try {
      await q.writer.mark(settingsKey(name), () => [{ put: { key: Buffer.from(settingsKey(name), 'utf8'), value: encodeSettings(q.settings) } }]);
    } finally {
      q.settingsWrites--;
    }
    return { ...next };
  }

  stats(name: string): QueueStats {
    checkQueueName(name);
    const q = this.queues.get(name);
    return q ? q.stats() : { name, ready: 0, delayed: 0, inFlight: 0, dead: 0, oldestReadyAgeMs: 0, consumers: 0 };
  }

  list(): QueueStats[] {
    return [...this.queues.values()]
      .filter((q) => q.inUse())
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((q) => q.stats());
  }

  purge(name: string, dead: boolean): Promise<{ items: number; dead: number }> {
    this.checkOpen();
    checkQueueName(name);
    const q = this.queue(name);
    // Alone between two batches: what was marked before is written first, then memory and the
    // store drop the items together, and later marks (new deliveries cannot exist: no items) follow.
    return q.writer.runAlone(async () => {
      const items = q.dropAll();
      const ops: RequestOp[] = [{ deleteRange: { key: Buffer.from(itemsPrefix(name), 'utf8'), rangeEnd: prefixEnd(itemsPrefix(name)) } }];
      if (dead) ops.push({ deleteRange: { key: Buffer.from(deadPrefix(name), 'utf8'), rangeEnd: prefixEnd(deadPrefix(name)) } });
      const r = await this.kv.txn({ compare: [], success: ops, failure: [] });
      const deadDeleted = dead && 'deleteRange' in r.responses[1]! ? r.responses[1].deleteRange.deleted : 0;
      return { items, dead: deadDeleted };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const q of this.queues.values()) q.close();
    // Let batches already on their way finish while the store is still open.
    await Promise.race([Promise.all([...this.queues.values()].map((q) => q.writer.idle())), new Promise((r) => setTimeout(r, 2000).unref())]);
    for (const q of this.queues.values()) q.writer.close();
  }

  // ---- internals ----

  private queue(name: string): QueueState {
    let q = this.queues.get(name);
    if (!q) {
      const writer = new QueueWriter({
        txn: (req) => this.kv.txn(req),
        maxTxnOps: this.options.maxTxnOps,
        maxTxnBytes: this.options.maxRequestBytes,
        retryMs: this.options.writeRetryMs,
        onError: this.options.onError,
      });
      q = new QueueState(name, writer, this.options.clock);
      this.queues.set(name, q);
    }
    return q;
  }

  private allocId(): string {
    this.nextId = Math.max(this.nextId + 1, this.options.clock.now() * 1000);
    return String(this.nextId).padStart(16, '0');
  }

  private seeId(id: string): void {
    const n = Number(id);
    if (n >= this.nextId) this.nextId = n;
  }

  private checkOpen(): void {
    if (this.closed) throw kvError('ERR_STOPPED');
  }

  /** Commits under /queues/: adopt new items, forget items deleted by others, count dead keys. */
  private onCommit(revision: number, events: readonly Event[]): void {
    let rank = 0;
    for (const ev of events) {
      const key = ev.kv.key;
      if (key.length <= QUEUES_PREFIX.length || key.toString('latin1', 0, QUEUES_PREFIX.length) !== QUEUES_PREFIX) continue;
      const k = parseQueueKey(key.toString('utf8'));
      if (!k) continue;
      if (k.kind === 'dead') {
        if (ev.type === 'PUT' && !ev.prevKv) this.queue(k.name).dead++;
        else if (ev.type === 'DELETE') this.queue(k.name).dead = Math.max(0, this.queue(k.name).dead - 1);
        continue;
      }
      if (k.kind === 'settings') {
        const q = this.queue(k.name);
        // Our own writes: memory already holds the newest (an older one may commit after it was set).
        if (ev.type === 'PUT' && q.settingsWrites === 0) {
          q.settings = decodeSettings(ev.kv.value);
          q.configured = true;
        }
        continue;
      }
      const q = this.queue(k.name);
      if (ev.type === 'DELETE') {
        q.forget(k.id);
        continue;
      }
      if (q.items.has(k.id)) continue; // our own transition: memory already shows it
      this.seeId(k.id);
      const record = this.ownEnqueues.get(k.id) ?? decodeItem(ev.kv.value);
      if (record && record.state !== 'dead') q.adopt(k.id, { ...record, history: [...record.history] }, ev.kv.createRevision || revision, rank++);
    }
  }
}
