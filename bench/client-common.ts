/**
 * Shared by the client benchmarks (bench/client-*.ts): a watchkv server as a child process (so
 * the client's figures are not mixed with the server's work on one event loop) and a loader that
 * writes keys in txns of up to 100 puts, a few txns in flight.
 */
import { WatchKvClient, op } from '../src/client/node.ts';

export async function load(client: WatchKvClient, count: number, key: (i: number) => string, value: string, perTxn = 100, inFlight = 4): Promise<number> {
  let next = 0;
  let last = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const from = next;
      next = Math.min(count, next + perTxn);
      const ops = [];
      for (let i = from; i < next; i++) ops.push(op.put(key(i), value));
      const r = await client.txn().then(...ops).commit();
      last = Math.max(last, r.revision);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return last;
}
