import createRBTree from 'functional-red-black-tree';
import type { Backend, BatchOp, ScanOptions } from './backend.ts';

/**
 * An in-memory Backend for fast unit tests. Data outlives close()/open() on the same instance,
 * so tests can "restart" a store without a disk. `failWrites` injects disk failures.
 */
export class MemoryBackend implements Backend {
  private tree = createRBTree<Buffer, Buffer>(Buffer.compare);
  private opened = false;
  private writeFailure: Error | null = null;

  async open(): Promise<void> {
    if (this.opened) throw new Error('memory backend is already open');
    this.opened = true;
  }

  async close(): Promise<void> {
    this.opened = false;
  }

  /** Makes every later write reject with `err` (null heals the "disk"). */
  failWrites(err: Error | null): void {
    this.writeFailure = err;
  }

  async write(ops: readonly BatchOp[]): Promise<void> {
    this.checkOpen();
    // Resolve on a later tick, as a real fsync would, so callers cannot rely on synchronicity.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.writeFailure) throw this.writeFailure;
    let tree = this.tree;
    for (const op of ops) {
      if (tree.get(op.key) !== undefined) tree = tree.remove(op.key);
      if (op.type === 'put') tree = tree.insert(Buffer.from(op.key), Buffer.from(op.value));
    }
    this.tree = tree; // all or nothing
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    this.checkOpen();
    return this.tree.get(key) ?? undefined;
  }

  async getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]> {
    this.checkOpen();
    return keys.map((k) => this.tree.get(k) ?? undefined);
  }

  async scan(options: ScanOptions): Promise<Array<[Buffer, Buffer]>> {
    this.checkOpen();
    const out: Array<[Buffer, Buffer]> = [];
    const { gte, lt, limit } = options;
    if (options.reverse) {
      for (let it = lt ? this.tree.lt(lt) : this.tree.end; it.valid && out.length < limit; it.prev()) {
        if (gte && Buffer.compare(it.key!, gte) < 0) break;
        out.push([it.key!, it.value!]);
      }
    } else {
      for (let it = gte ? this.tree.ge(gte) : this.tree.begin; it.valid && out.length < limit; it.next()) {
        if (lt && Buffer.compare(it.key!, lt) >= 0) break;
        out.push([it.key!, it.value!]);
      }
    }
    return out;
  }

  async approximateSize(): Promise<number> {
    let bytes = 0;
    this.tree.forEach((k, v) => {
      bytes += k.length + v.length;
    });
    return bytes;
  }

  private checkOpen(): void {
    if (!this.opened) throw new Error('memory backend is not open');
  }
}
