import { isKvError } from '../errors.ts';
import type { Event, KV } from '../mvcc/kv.ts';
import { requestEnd } from '../mvcc/key-range.ts';
import type { WatchResponse } from './watch-api.ts';
import type { Watcher } from './watcher.ts';

/**
 * A state transfer (watchkv extension; initial_state and on_compacted "resync"): the watcher's
 * range as PUT events at one revision R, framed by two markers, then the engine's normal
 * catch-up from R+1. Steps:
 *   1. R = the published revision (every event <= R has been committed and routed);
 *   2. offer `snapshotStart` (a resync says the compaction revision that caused it);
 *   3. read the range at R through the store in pages of pageKeys keys (limit, the next page
 *      starts just after the last key); each page is one events response at header R, offered
 *      in order. A refused page waits for room (retried every retryMs): only that page is held;
 *   4. offer `snapshotDone` at R and set minRev = R+1. The caller places the watcher, which
 *      then catches up from R+1 like any other: no gap, no duplicate.
 * Compaction overtaking R mid-read (ERR_COMPACTED) restarts at the new published revision with
 * a new `snapshotStart`, which tells the client to drop the partial state.
 * The watcher is in state 'transfer' throughout, in none of the engine's sets, so neither the
 * router nor the loops touch it. A cancel or close sets it 'closed': the transfer stops at its
 * next step and returns false.
 */
export interface TransferDeps {
  kv: Pick<KV, 'range'>;
  /** The engine's published revision. */
  publishedRevision(): number;
  pageKeys: number;
  retryMs: number;
}

export async function transferState(w: Watcher, deps: TransferDeps, compactRevision?: number): Promise<boolean> {
  for (;;) {
    const at = deps.publishedRevision();
    const start: WatchResponse = { watchId: w.id, revision: at, events: [], withPrevKv: false, snapshotStart: true };
    if (compactRevision) start.compactRevision = compactRevision;
    if (!(await offerAll(w, start, deps.retryMs))) return false;
    const done = await sendPages(w, deps, at);
    if (done === 'closed') return false;
    if (done === 'compacted') {
      compactRevision = undefined;
      continue;
    }
    const end: WatchResponse = { watchId: w.id, revision: at, events: [], withPrevKv: false, snapshotDone: true };
    if (!(await offerAll(w, end, deps.retryMs))) return false;
    w.minRev = at + 1;
    w.sentSinceTick = true;
    return true;
  }
}

async function sendPages(w: Watcher, deps: TransferDeps, at: number): Promise<'ok' | 'closed' | 'compacted'> {
  const rangeEnd = requestEnd(w.end);
  let key = w.key;
  for (;;) {
    let page;
    try {
      page = await deps.kv.range({ key, rangeEnd, revision: at, limit: deps.pageKeys });
    } catch (err) {
      if (isKvError(err, 'ERR_COMPACTED')) return 'compacted';
      throw err;
    }
    if (w.state === 'closed') return 'closed';
    if (page.kvs.length > 0) {
      const events: Event[] = page.kvs.map((kv) => ({ type: 'PUT', kv }));
      // No prev_kv: a state event is the key as it is, not a change.
      if (!(await offerAll(w, { watchId: w.id, revision: at, events, withPrevKv: false }, deps.retryMs))) return 'closed';
    }
    if (!page.more || rangeEnd === undefined) return 'ok';
    key = Buffer.concat([page.kvs[page.kvs.length - 1]!.key, Buffer.of(0)]);
  }
}

/** Offers one response until the stream takes it; false when the watcher closed meanwhile. */
async function offerAll(w: Watcher, resp: WatchResponse, retryMs: number): Promise<boolean> {
  for (;;) {
    if (w.state === 'closed') return false;
    if (w.stream.offer([resp]) === 1) return true;
    await new Promise((r) => setTimeout(r, retryMs));
  }
}
