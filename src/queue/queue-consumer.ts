/**
 * One consumer of one queue: its remaining credit and the items it holds. The queue (the host)
 * does the dispatching; a consumer only counts and leaves.
 */
import type { Consumer, ConsumerOptions, ConsumerSink } from './queue-api.ts';
import type { Item } from './queue-item.ts';

/** What a consumer needs from its queue. */
export interface ConsumerHost {
  /** Removes the consumer and settles the items it holds (see Consumer.close). */
  leave(c: QueueConsumer, returnItems: boolean): void;
  /** New credit: look for ready items. */
  scheduleDispatch(): void;
}

export class QueueConsumer implements Consumer {
  creditLeft = 0;
  readonly heldItems = new Set<Item>();
  private left = false;

  constructor(
    private readonly queue: ConsumerHost,
    readonly sink: ConsumerSink,
    readonly options: ConsumerOptions,
  ) {}

  addCredit(n: number): void {
    if (this.left) return;
    this.creditLeft += n;
    this.queue.scheduleDispatch();
  }

  credit(): number {
    return this.creditLeft;
  }

  held(): number {
    return this.heldItems.size;
  }

  unsent(): number {
    let n = 0;
    for (const item of this.heldItems) if (!item.sent) n++;
    return n;
  }

  drain(): void {
    this.creditLeft = 0;
  }

  close(returnItems: boolean): void {
    if (this.left) return;
    this.left = true;
    this.creditLeft = 0;
    this.queue.leave(this, returnItems);
  }
}
