import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Event } from '../mvcc/kv.ts';

export interface IdleEncoderOptions {
  /** ms: how often the encoder looks at the loop's load while a backlog waits. */
  checkIntervalMs: number;
  /** 0..1: event-loop utilization over the last interval above which it encodes nothing. */
  busyUtilization: number;
  /** ms: longest one encoding slice may run, so a backlog never stalls the loop. */
  sliceMs: number;
  /** events: most events waiting; beyond it the oldest are left to be encoded on demand. */
  maxBacklogEvents: number;
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
 * Invariants: the backlog holds each committed event list at most once, oldest first, and at
 * most about maxBacklogEvents events; encoding is idempotent, so dropping or repeating work
 * changes no output, only who pays for it.
 */
export class IdleEncoder {
  private backlog: Array<readonly Event[]> = [];
  /** index of the oldest list still waiting in `backlog` */
  private head = 0;
  private waiting = 0;
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
    this.backlog.push(events);
    this.waiting += events.length;
    // Too far behind: the oldest wait for a replay to encode them, if one ever comes.
    while (this.waiting > this.options.maxBacklogEvents && this.backlog.length - this.head > 1) this.dropOldest();
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
      const events = this.backlog[this.head]!;
      for (const ev of events) this.encode(ev);
      this.dropOldest();
      if (performance.now() >= until) break;
    }
  }

  private dropOldest(): void {
    const events = this.backlog[this.head]!;
    this.backlog[this.head++] = undefined as unknown as readonly Event[];
    this.waiting -= events.length;
    if (this.head === this.backlog.length) {
      this.backlog = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.backlog.length) {
      this.backlog = this.backlog.slice(this.head);
      this.head = 0;
    }
  }
}
