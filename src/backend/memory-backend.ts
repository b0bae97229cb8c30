import createRBTree from 'functional-red-black-tree';
import { kvError } from '../errors.ts';
import type { Backend, BackendSnapshot, BatchOp, ScanOptions } from './backend.ts';

/**
 * An in-memory Backend for fast unit tests. Data outlives close()/open() on the same instance,
 * so tests can "restart" a store without a disk. `failWrites` injects disk failures.
 *
 * Invariant: `tree` is persistent (functional), so a batch builds a new tree and publishes it with
 * one assignment: readers see all of a batch or none of it. Stored Buffers are private copies.
 */
export class MemoryBackend implements Backend {
  private tree = createRBTree<Buffer, Buffer>(Buffer.compare);
  private opened = false;
  private writeFailure: Error | null = null;
  /** Writes not yet settled; close() drains them, as a real backend would. */
  private readonly inFlight = new Set<Promise<void>>();

  async open(): Promise<void> {
    if (this.opened) throw kvError('ERR_STORAGE', 'memory backend is already open');
    this.opened = true;
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    await Promise.allSettled([...this.inFlight]);
    this.opened = false;
  }

  /** Makes every later write reject with `err` (null heals the "disk"). */
  failWrites(err: Error | null): void {
    this.writeFailure = err;
  }

  write(ops: readonly BatchOp[]): Promise<void> {
    if (!this.opened) return Promise.reject(kvError('ERR_STORAGE', 'memory backend is not open'));
    // Copy now: the caller may reuse its Buffers as soon as write() returns.
    const copies = ops.map((op) =>
      op.type === 'put'
        ? { type: 'put' as const, key: Buffer.from(op.key), value: Buffer.from(op.value) }
        : { type: 'del' as const, key: Buffer.from(op.key) },
    );
    const p = this.apply(copies);
    this.inFlight.add(p);
    const done = () => void this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  private async apply(ops: readonly BatchOp[]): Promise<void> {
    // Resolve on a later tick, as a real fsync would, so callers cannot rely on synchronicity.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.writeFailure) throw this.writeFailure;
    let tree = this.tree;
    for (const op of ops) {
      if (tree.get(op.key) !== undefined) tree = tree.remove(op.key);
      if (op.type === 'put') tree = tree.insert(op.key, op.value);
    }
    this.tree = tree; // all or nothing
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    this.checkOpen();
    return copy(this.tree.get(key));
  }

  async getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]> {
    this.checkOpen();
    return keys.map((k) => copy(this.tree.get(k)));
  }

  async scan(options: ScanOptions): Promise<Array<[Buffer, Buffer]>> {
    this.checkOpen();
    const out: Array<[Buffer, Buffer]> = [];
    const { gte, lt, limit } = options;
    if (options.reverse) {
      for (let it = lt ? this.tree.lt(lt) : this.tree.end; it.valid && out.length < limit; it.prev()) {
        if (gte && Buffer.compare(it.key!, gte) < 0) break;
        out.push([Buffer.from(it.key!), Buffer.from(it.value!)]);
      }
    } else {
      for (let it = gte ? this.tree.ge(gte) : this.tree.begin; it.valid && out.length < limit; it.next()) {
        if (lt && Buffer.compare(it.key!, lt) >= 0) break;
        out.push([Buffer.from(it.key!), Buffer.from(it.value!)]);
      }
    }
    return out;
  }

  /** The tree is persistent: holding today's root is the snapshot. */
  snapshot(): BackendSnapshot {
    this.checkOpen();
    const it = this.tree.begin;
    return {
      next: async (max) => {
        const out: Array<[Buffer, Buffer]> = [];
        for (; it.valid && out.length < max; it.next()) out.push([Buffer.from(it.key!), Buffer.from(it.value!)]);
        return out;
      },
      close: async () => {},
    };
  }

  /** Nothing to give back: a deleted entry's memory is freed with it. */
  async compactFiles(): Promise<void> {
    this.checkOpen();
  }

  async approximateSize(): Promise<number> {
    this.checkOpen();
    let bytes = 0;
    this.tree.forEach((k, v) => {
      bytes += k.length + v.length;
    });
    return bytes;
  }

  private checkOpen(): void {
    if (!this.opened) throw kvError('ERR_STORAGE', 'memory backend is not open');
  }
}

/** Reads hand out copies too, as LevelDB does, so a caller mutating a result cannot corrupt the store. */
function copy(value: Buffer | undefined | null | void): Buffer | undefined {
  return value ? Buffer.from(value) : undefined;
}
