/**
 * The watch validator: given the full history and what a watcher received, checks etcd's watch
 * guarantees (shared/reference §C) — Ordered, Unique, Reliable, Atomic, Bookmarkable, prev_kv,
 * filters, compaction cancels. Resumable is checked by validating a resumed watcher the same way.
 * Transport-neutral: responses are WatchResponse objects (the e2e tests decode JSON into them).
 *
 * Returns a list of violations (empty = valid), so a test can also assert that a broken stream
 * IS caught.
 */
import type { Event, KeyValue, RevisionChanges } from '../../src/mvcc/kv.ts';
import type { WatchCreateRequest, WatchResponse } from '../../src/watch/watch-api.ts';

export interface ObservedWatcher {
  request: WatchCreateRequest;
  /** Every response for this watcher, in arrival order, starting with its `created`. */
  responses: WatchResponse[];
}

function contains(req: WatchCreateRequest, key: Buffer): boolean {
  if (req.rangeEnd === undefined) return key.equals(req.key);
  return Buffer.compare(key, req.key) >= 0 && (req.rangeEnd.length === 0 || Buffer.compare(key, req.rangeEnd) < 0);
}

function sameKv(a: KeyValue | undefined, b: KeyValue | undefined): boolean {
  if (!a || !b) return a === b;
  return a.key.equals(b.key) && a.value.equals(b.value) && a.modRevision === b.modRevision && a.createRevision === b.createRevision && a.version === b.version && a.lease === b.lease;
}

function describe(ev: Event): string {
  return `${ev.type} ${ev.kv.key.toString('latin1')}@${ev.kv.modRevision}`;
}

/** `history`: every revision's events in op order, with prevKv filled (store.history(.., {withPrevKv})). */
/**
 * `compactedUpTo`: the highest compaction revision of the run. An event at or below it may come
 * without prev_kv: its key's previous version, older than the compaction, can be gone (etcd
 * omits prev_kv then too). A prev_kv that is present must always be right.
 */
export function validateWatcher(history: readonly RevisionChanges[], w: ObservedWatcher, compactedUpTo = 0): string[] {
  const errs: string[] = [];
  const [first, ...rest] = w.responses;
  if (!first?.created) return ['first response is not `created`'];
  if (first.canceled) return []; // a refused create: nothing more to check
  const id = first.watchId;
  const start = w.request.startRevision || first.revision + 1;
  const expected: Event[] = [];
  for (const rc of history) {
    if (rc.revision < start) continue;
    for (const ev of rc.events) {
      if (!contains(w.request, ev.kv.key)) continue;
      if (ev.type === 'PUT' ? w.request.noPut : w.request.noDelete) continue;
      expected.push(ev);
    }
  }
  const got: Event[] = [];
  let canceled: WatchResponse | undefined;
  let openFragment = false;
  for (const r of rest) {
    if (r.watchId !== id && r.watchId !== -1) errs.push(`response for watch ${r.watchId} on watcher ${id}`);
    if (canceled) errs.push('response after cancel');
    if (r.canceled) {
      // etcd sends a compaction cancel with header revision 0.
      if (r.compactRevision !== undefined && r.compactRevision > 0 && r.revision !== 0) {
        errs.push(`compaction cancel with header revision ${r.revision}, expected 0`);
      }
      canceled = r;
      continue;
    }
    if (r.events.length === 0) {
      // Bookmarkable: a progress at R means every matching event <= R is already here.
      const owed = expected.filter((ev) => ev.kv.modRevision <= r.revision);
      if (got.length < owed.length) errs.push(`progress ${r.revision} before events up to it (got ${got.length} of ${owed.length})`);
      if (openFragment) errs.push('progress inside a fragmented response');
      continue;
    }
    // Atomic: a response holds all matching events of each revision it touches (fragments
    // continue into the next part).
    const revs = new Set(r.events.map((e) => e.kv.modRevision));
    for (const rev of revs) {
      const all = expected.filter((e) => e.kv.modRevision === rev).length;
      const here = got.filter((e) => e.kv.modRevision === rev).length + r.events.filter((e) => e.kv.modRevision === rev).length;
      if (here < all && !r.fragment) errs.push(`revision ${rev} split across responses (${here} of ${all})`);
    }
    const lastRev = r.events[r.events.length - 1]!.kv.modRevision;
    if (r.revision < lastRev) errs.push(`header revision ${r.revision} below its last event's ${lastRev}`);
    openFragment = Boolean(r.fragment);
    for (const ev of r.events) {
      got.push(ev);
      if (w.request.prevKv !== r.withPrevKv) errs.push(`withPrevKv ${r.withPrevKv} but prev_kv asked: ${w.request.prevKv}`);
    }
  }
  // Ordered + Unique + Reliable: what arrived is exactly the expected sequence's prefix.
  for (let i = 0; i < got.length; i++) {
    const e = expected[i];
    const g = got[i]!;
    if (!e || !sameKv(e.kv, g.kv) || e.type !== g.type) {
      errs.push(`event ${i}: got ${describe(g)}, expected ${e ? describe(e) : 'nothing'}`);
      break;
    }
    const mayLackPrev = g.prevKv === undefined && e.kv.modRevision <= compactedUpTo;
    if (w.request.prevKv && e.prevKv && !(e.type === 'PUT' && e.kv.version === 1) && !mayLackPrev && !sameKv(e.prevKv, g.prevKv)) {
      errs.push(`event ${i} ${describe(g)}: wrong prev_kv`);
    }
  }
  if (canceled?.compactRevision !== undefined && canceled.compactRevision > 0) {
    // Cancelled by compaction: legitimate only if the next owed event is compacted.
    const next = expected[got.length];
    const nextRev = next ? next.kv.modRevision : Infinity;
    const resumeRev = got.length > 0 ? got[got.length - 1]!.kv.modRevision + 1 : start;
    if (resumeRev > canceled.compactRevision && nextRev > canceled.compactRevision) {
      errs.push(`cancelled by compaction at ${canceled.compactRevision} though it could resume at ${resumeRev}`);
    }
  } else if (!canceled) {
    // Still open: every event up to the last revision it has seen must be there.
    const horizon = Math.max(0, ...rest.map((r) => (r.events.length ? r.events[r.events.length - 1]!.kv.modRevision : r.revision)));
    const owed = expected.filter((e) => e.kv.modRevision <= horizon).length;
    if (got.length < owed) errs.push(`missing events: got ${got.length}, expected ${owed} up to revision ${horizon}`);
  }
  return errs;
}

/** Checks that a watcher observed everything up to `upTo` (after the run has quiesced). */
export function validateComplete(history: readonly RevisionChanges[], w: ObservedWatcher, upTo: number): string[] {
  const errs = validateWatcher(history, w);
  const first = w.responses[0];
  if (!first?.created || first.canceled || w.responses.some((r) => r.canceled)) return errs;
  const start = w.request.startRevision || first.revision + 1;
  const want = history
    .filter((rc) => rc.revision >= start && rc.revision <= upTo)
    .flatMap((rc) => rc.events)
    .filter((ev) => contains(w.request, ev.kv.key) && !(ev.type === 'PUT' ? w.request.noPut : w.request.noDelete)).length;
  const got = w.responses.reduce((n, r) => n + r.events.length, 0);
  if (got !== want) errs.push(`complete: got ${got} events, expected ${want} up to ${upTo}`);
  return errs;
}
