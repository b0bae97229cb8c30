/**
 * The expiry loop: every intervalMs it asks the lessor for leases whose deadline passed and
 * revokes them, `batch` at a time. Each revoke is its own write txn (one revision each, as etcd
 * revokes each expired lease through its own raft request); they are issued together so group
 * commit writes a whole batch with about one fsync. Between batches the loop yields to the event
 * loop, so 10,000 leases expiring at once never stall other clients.
 *
 * A revoke that fails (storage trouble, shutdown) ends the pass; the lessor queues its lease again
 * for a later pass. At most one pass runs at a time.
 */
export interface ExpiryHost {
  /** Up to `max` expired leases not being revoked yet (they leave the queue). */
  expired(max: number): bigint[];
  /** Revokes one expired lease (on failure the lessor requeues it). */
  revoke(id: bigint): Promise<void>;
}

export class ExpiryLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly host: ExpiryHost,
    private readonly options: { intervalMs: number; batch: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Runs a pass now unless one is running (tests call it to skip waiting for the timer). */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async pass(): Promise<void> {
    while (!this.stopped) {
      const ids = this.host.expired(this.options.batch);
      if (ids.length === 0) break;
      const results = await Promise.allSettled(ids.map((id) => this.host.revoke(id)));
      if (results.some((r) => r.status === 'rejected')) break; // storage trouble: retry later
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
