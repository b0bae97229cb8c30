/**
 * Pages through the entries in [gte, lt) in key order, `limit` at a time: the one way every full
 * scan of the store reads the backend (restore, history, physical compaction, lease records).
 * With `yieldBetween`, the event loop turns between pages, so a scan of millions of records never
 * stalls live clients. A consumer may stop early by breaking out of its `for await`; a page is
 * fully handled (even written to) before the next one is read.
 */
import type { Backend } from './backend.ts';

const ZERO = Buffer.from([0]);

export async function* scanPages(
  backend: Backend,
  range: { gte: Buffer; lt: Buffer },
  limit: number,
  yieldBetween = false,
): AsyncGenerator<Array<[Buffer, Buffer]>, void, undefined> {
  let gte: Buffer | undefined = range.gte;
  while (gte) {
    const entries = await backend.scan({ gte, lt: range.lt, limit });
    if (entries.length > 0) yield entries;
    gte = entries.length < limit ? undefined : Buffer.concat([entries[entries.length - 1]![0], ZERO]);
    if (gte && yieldBetween) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
