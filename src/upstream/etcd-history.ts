/**
 * Old history served from etcd: the changes of revisions [from, to] of the mirrored range,
 * read with a short-lived etcd watch from `from` (etcd keeps history until it compacts; the
 * node keeps only its recent window). This is how a watcher whose start revision is older than
 * the node's window, or one behind a relist, catches up.
 *
 * When is the read complete? etcd 3.4 sends a catching-up watcher its events in batches of at
 * most 1000 revisions with header = etcd's revision at that moment, and sends nothing at all for
 * a range without events. So, in order of preference:
 *   1. an event above `to` arrived, or `maxRevisions` revisions were collected;
 *   2. a response with fewer than 1000 revisions and header >= to (the final batch: every
 *      event <= header is in it or before it), or a progress notification for this watcher
 *      with header >= to;
 *   3. only where revisions without events in the range can exist (a prefix is mirrored: with
 *      the whole keyspace every revision has events, so 1-2 always end the read): nothing
 *      arrives for `quietAnswers` answers in a row to a progress request (sent every 100 ms,
 *      etcd's catch-up period) with header >= to. etcd 3.4 answers progress requests out of
 *      band, so this is the one heuristic here, and it waits ~1 s, ten catch-up periods.
 */
import { kvError } from '../errors.ts';
import type { Event, RevisionChanges } from '../mvcc/kv.ts';
import { eventFrom, headerRevision } from './etcd-codec.ts';
import type { EtcdClient, EtcdMsg } from './etcd-client.ts';
import { upstreamError } from './etcd-errors.ts';

/** etcd's watchBatchMaxRevs: a catch-up response with fewer revisions is the last one. */
const ETCD_BATCH_MAX_REVS = 1000;
/** ms: progress-request period while waiting (etcd's catch-up loop runs every 100 ms). */
const PROBE_MS = 100;

export interface HistoryRange {
  key: Buffer;
  rangeEnd: Buffer;
}

export interface HistoryOptions {
  maxRevisions: number;
  timeoutMs: number;
  /** Rule 3: quiet progress answers that end the read; 0 = never (the whole keyspace). */
  quietAnswers: number;
  /** Told the compaction revision when etcd says `from` is compacted. */
  onCompacted(revision: number): void;
}

export function readUpstreamHistory(client: EtcdClient, range: HistoryRange, from: number, to: number, o: HistoryOptions): Promise<RevisionChanges[]> {
  return new Promise((resolve, reject) => {
    const out: RevisionChanges[] = [];
    const { call, member } = client.stream('Watch', 'Watch');
    let settled = false;
    let quiet = 0;
    let probe: NodeJS.Timeout | undefined;
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      clearInterval(probe);
      clearTimeout(timer);
      call.removeAllListeners('data');
      call.on('error', () => undefined);
      call.cancel();
      if (err) reject(err);
      else resolve(out);
    };
    const timer = setTimeout(() => finish(kvError('ERR_UNAVAILABLE', `upstream etcd: history ${from}..${to} not read within ${o.timeoutMs} ms`)), o.timeoutMs);
    /** Adds one response's events; true when rule 1 ends the read. */
    const add = (events: readonly Event[]): boolean => {
      for (const ev of events) {
        const rev = ev.kv.modRevision;
        if (rev > to) return true;
        const last = out[out.length - 1];
        if (last && last.revision === rev) last.events.push(ev);
        else {
          if (out.length === o.maxRevisions) return true;
          out.push({ revision: rev, events: [ev] });
        }
      }
      return false;
    };
    call.on('data', (m: EtcdMsg) => {
      const header = headerRevision(m);
      if (String(m.watch_id) === '-1') {
        // An answer to a progress request (rule 3).
        if (o.quietAnswers > 0 && header >= to && ++quiet >= o.quietAnswers) finish();
        return;
      }
      if (m.canceled) {
        const compact = Number(m.compact_revision ?? 0);
        if (compact > 0) {
          o.onCompacted(compact);
          finish(kvError('ERR_COMPACTED'));
        } else finish(kvError('ERR_UNAVAILABLE', `upstream etcd: history watch canceled: ${m.cancel_reason ?? ''}`));
        return;
      }
      if (m.created) {
        probe = setInterval(() => call.write({ progress_request: {} }), PROBE_MS);
        return;
      }
      quiet = 0;
      const events: Event[] = (m.events ?? []).map(eventFrom);
      if (add(events)) return finish();
      // maxRevisions whole revisions collected (etcd never splits a revision across responses).
      if (out.length === o.maxRevisions) return finish();
      const revs = new Set(events.map((e) => e.kv.modRevision)).size;
      if (header >= to && revs < ETCD_BATCH_MAX_REVS) finish(); // rule 2
    });
    call.on('error', (err: Error) => {
      client.rotate(member);
      finish(upstreamError(err));
    });
    call.on('end', () => finish(kvError('ERR_UNAVAILABLE', 'upstream etcd: history watch ended')));
    call.write({ create_request: { key: range.key, range_end: range.rangeEnd, start_revision: String(from), prev_kv: true, progress_notify: true } });
  });
}
