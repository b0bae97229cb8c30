import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Event } from '../mvcc/kv.ts';

export interface IdleEncoderOptions {
  /** ms: how often the encoder looks at the loop's load while a backlog waits. */
  checkIntervalMs: number;
  /** 0..1: event-loop utilization over the last interval above which it encodes nothing. */
  busyUtilization: number;
  /** ms: longest one encoding slice may run, so a backlog never stalls the loop. */
  sliceMs: number;
  /**
   * bytes, by `costOf`: most the waiting events may keep alive; beyond it the oldest are left to
   * be encoded on demand. The watch history's own budget: an event it has dropped is not worth
   * encoding ahead, and the backlog must not hold memory past what the operator allowed.
   */
  maxBacklogBytes: number;
  /** bytes: what one waiting event keeps alive (the history's estimate, recent-history.ts). */
  costOf: (ev: Event) => number;
}

/**
 * Encodes committed events for later replays while the event loop has time to spare.
 *
 * Why idle time only: an encoding memoized on its event (json.ts) lets a watcher replaying the
 * recent past send bytes that already exist. But every memo is a string the recent history
 * keeps alive, and under a saturating write load encoding every commit at once cost ~15 % of
 * queue throughput (the encoding itself, and the GC of strings promoted with their events),
 * for events nobody may ever replay. So the work waits for a quiet interval; a replay of an
 * event not yet encoded encodes it itself (the same memo), and live fan-out always did.
 *
 * Invariants: the backlog holds each committed event list at most once, oldest first, costing
 * at most maxBacklogBytes (or one list, whatever its size); encoding is idempotent, so dropping or repeating work
 * changes no output, only who pays for it.
 */
export class IdleEncoder {
  private backlog: Array<{ events: readonly Event[]; cost: number }> = [];
  /** index of the oldest list still waiting in `backlog` */
  private head = 0;
  private waiting = 0;
  private held = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastElu: EventLoopUtilization = performance.eventLoopUtilization();
  private stopped = false;

  constructor(
    private readonly encode: (ev: Event) => void,
    private readonly options: IdleEncoderOptions,
  ) {}

  /** The commit listener: queues one committed revision's events. */
  readonly onCommit = (_revision: number, events: readonly Event[]): void => {
    if (this.stopped || events.length === 0) return;
    let cost = 0;
    for (const ev of events) cost += this.options.costOf(ev);
    this.backlog.push({ events, cost });
    this.waiting += events.length;
    this.held += cost;
    // Too far behind: the oldest wait for a replay to encode them, if one ever comes.
    while (this.held > this.options.maxBacklogBytes && this.backlog.length - this.head > 1) this.dropOldest();
    this.arm();
  };

  /** Events waiting to be encoded (tests, stats). */
  get pending(): number {
    return this.waiting;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.backlog = [];
    this.head = 0;
    this.waiting = 0;
    this.held = 0;
  }

  private arm(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => this.run(), this.options.checkIntervalMs);
    this.timer.unref();
  }

  private run(): void {
    this.timer = undefined;
    const now = performance.eventLoopUtilization();
    const load = performance.eventLoopUtilization(now, this.lastElu).utilization;
    this.lastElu = now;
    if (load <= this.options.busyUtilization) this.encodeSlice();
    if (this.waiting > 0) this.arm();
  }

  private encodeSlice(): void {
    const until = performance.now() + this.options.sliceMs;
    while (this.head < this.backlog.length) {
      for (const ev of this.backlog[this.head]!.events) this.encode(ev);
      this.dropOldest();
      if (performance.now() >= until) break;
    }
  }

  private dropOldest(): void {
    const entry = this.backlog[this.head]!;
    this.backlog[this.head++] = undefined as unknown as { events: readonly Event[]; cost: number };
    this.waiting -= entry.events.length;
    this.held -= entry.cost;
    if (this.head === this.backlog.length) {
      this.backlog = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.backlog.length) {
      this.backlog = this.backlog.slice(this.head);
      this.head = 0;
    }
  }
}
