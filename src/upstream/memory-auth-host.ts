/**
 * The auth store's host in upstream mode: the node has no store of its own, so its users and
 * roles live in memory, per node, and start empty (auth disabled) at every start. etcd's own
 * auth (on the cluster) is not read: README "Upstream mode" says so.
 */
import type { BatchOp } from '../backend/backend.ts';
import type { AuthHost } from '../mvcc/auth-host.ts';

export class MemoryAuthHost implements AuthHost {
  private readonly records = new Map<string, [Buffer, Buffer]>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly revision: () => number) {}

  authWrite<T>(body: () => { ops: BatchOp[]; result: T }): Promise<T> {
    const run = this.chain.then(() => {
      const { ops, result } = body();
      for (const op of ops) {
        const id = op.key.toString('latin1');
        if (op.type === 'put') this.records.set(id, [op.key, op.value]);
        else this.records.delete(id);
      }
      return result;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  async scanAuthRecords(): Promise<Array<[Buffer, Buffer]>> {
    return [...this.records.values()].sort((a, b) => Buffer.compare(a[0], b[0]));
  }

  currentRevision(): number {
    return this.revision();
  }
}
