/**
 * The watch validator: given the full history and what a watcher received, checks etcd's watch
 * guarantees (shared/reference §C) — Ordered, Unique, Reliable, Atomic, Bookmarkable, prev_kv,
 * filters, compaction cancels. Resumable is checked by validating a resumed watcher the same way.
 * Transport-neutral: responses are WatchResponse objects (the e2e tests decode JSON into them).
 *
 * Returns a list of violations (empty = valid), so a test can also assert that a broken stream
 * IS caught.
 *
 * watchkv extensions: a state transfer (snapshot_start … snapshot_done at R) must equal the
 * range at R (computed from the history) and split the stream into epochs: the events before
 * it are a checked prefix (a resync is legitimate only when compaction took the next owed
 * revision), the events after it are checked as a stream from R+1. Lag notices are advisory
 * and skipped. Latest-value streams have their own check, validateLatest.
 */
import type { Event, KeyValue, RevisionChanges } from '../../src/mvcc/kv.ts';
import type { WatchCreateRequest, WatchResponse } from '../../src/watch/watch-api.ts';

export interface ObservedWatcher {
  request: WatchCreateRequest;
  /** Every response for this watcher, in arrival order, starting with its `created`. */
  responses: WatchResponse[];
}

/** etcd's convention, written out here independently of src/mvcc/key-range.ts. */
function contains(req: WatchCreateRequest, key: Buffer): boolean {
  const end = req.rangeEnd;
  if (end === undefined || end.length === 0) return key.equals(req.key);
  const toEnd = end.length === 1 && end[0] === 0;
  return Buffer.compare(key, req.key) >= 0 && (toEnd || Buffer.compare(key, end) < 0);
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
  const [first, ...rest] = w.responses;
  if (!first?.created) return ['first response is not `created`'];
  if (first.canceled) return []; // a refused create: nothing more to check
  const errs: string[] = [];
  const id = first.watchId;
  let start = w.request.startRevision || first.revision + 1;
  let epoch: WatchResponse[] = [];
  const live = rest.filter((r) => !r.lagging);
  for (const r of rest) if (r.lagging) errs.push(...checkLagNotice(r, id));
  if (w.request.initialState && !live[0]?.snapshotStart) errs.push('initial_state: the first response after `created` is not snapshot_start');
  for (let i = 0; i < live.length; i++) {
    const r = live[i]!;
    if (!r.snapshotStart) {
      epoch.push(r);
      continue;
    }
    // A resync ends the epoch like a compaction cancel; an initial (or restarted) transfer
    // ends an epoch that must hold no events.
    const resync = r.compactRevision ? { ...r, canceled: true, revision: 0 } : undefined;
    if (!resync && epoch.some((e) => e.events.length > 0)) errs.push('snapshot_start without compact_revision after events');
    errs.push(...checkEpoch(history, w.request, id, start, resync ? [...epoch, resync] : epoch, compactedUpTo));
    epoch = [];
    const t = readTransfer(live, i);
    i = t.next - 1;
    if (t.errs.length) errs.push(...t.errs);
    if (t.revision === undefined) return errs; // stream ended inside the transfer
    if (t.revision < first.revision) errs.push(`snapshot at ${t.revision}, below the created revision ${first.revision}`);
    errs.push(...compareState(stateAt(history, w.request, t.revision), t.state, `snapshot at ${t.revision}`));
    start = t.revision + 1;
  }
  errs.push(...checkEpoch(history, w.request, id, start, epoch, compactedUpTo));
  return errs;
}

/** One transfer from live[i] (snapshot_start): its PUTs, and R when snapshot_done arrived. */
function readTransfer(live: readonly WatchResponse[], i: number): { state: Map<string, KeyValue>; revision?: number; next: number; errs: string[] } {
  const state = new Map<string, KeyValue>();
  const errs: string[] = [];
  let at: number | undefined;
  for (let j = i + 1; j < live.length; j++) {
    const r = live[j]!;
    if (r.snapshotDone) {
      if (r.events.length) errs.push('snapshot_done carries events');
      if (at !== undefined && r.revision !== at) errs.push(`snapshot_done at ${r.revision}, pages at ${at}`);
      return { state, revision: r.revision, next: j + 1, errs };
    }
    if (r.snapshotStart) {
      // Compaction overtook the transfer's revision: it starts over, the partial state is void.
      state.clear();
      at = undefined;
      continue;
    }
    if (r.events.length === 0) continue; // progress inside a transfer says nothing
    if (at !== undefined && r.revision !== at) errs.push(`snapshot pages at revisions ${at} and ${r.revision}`);
    at = r.revision;
    for (const ev of r.events) {
      const id = ev.kv.key.toString('latin1');
      if (ev.type !== 'PUT') errs.push(`snapshot holds a ${ev.type} of ${id}`);
      if (state.has(id)) errs.push(`snapshot holds ${id} twice`);
      if (ev.kv.modRevision > r.revision) errs.push(`snapshot key ${id}@${ev.kv.modRevision} above its revision ${r.revision}`);
      state.set(id, ev.kv);
    }
  }
  return { state, next: live.length, errs };
}

function checkLagNotice(r: WatchResponse, id: number): string[] {
  const l = r.lagging!;
  const errs: string[] = [];
  if (r.watchId !== id) errs.push(`lag notice for watch ${r.watchId} on watcher ${id}`);
  if (r.events.length) errs.push('lag notice carries events');
  if (!(l.behindRevisions >= 0) || !(l.pendingBytes >= 0)) errs.push(`lag notice with bad figures ${JSON.stringify(l)}`);
  return errs;
}

/** The range's keys at `revision`, replayed from the history (what a range at R returns). */
export function stateAt(history: readonly RevisionChanges[], req: WatchCreateRequest, revision: number): Map<string, KeyValue> {
  const state = new Map<string, KeyValue>();
  for (const rc of history) {
    if (rc.revision > revision) break;
    for (const ev of rc.events) {
      if (!contains(req, ev.kv.key)) continue;
      const id = ev.kv.key.toString('latin1');
      if (ev.type === 'PUT') state.set(id, ev.kv);
      else state.delete(id);
    }
  }
  return state;
}

function compareState(want: Map<string, KeyValue>, got: Map<string, KeyValue>, what: string): string[] {
  const errs: string[] = [];
  for (const [k, kv] of want) if (!sameKv(kv, got.get(k))) errs.push(`${what}: key ${k} is ${got.has(k) ? `@${got.get(k)!.modRevision}` : 'missing'}, expected @${kv.modRevision}`);
  for (const k of got.keys()) if (!want.has(k)) errs.push(`${what}: key ${k} should not be there`);
  return errs.slice(0, 5);
}

/**
 * Latest-value mode: every event is the key's real state at its revision (one of the
 * history's events), each key at most once per response, revisions increasing within a
 * response and from one response to the next; applied to the state at the start, the stream
 * equals the range at every bookmark and at `upTo` (the final state is exact).
 */
export function validateLatest(history: readonly RevisionChanges[], w: ObservedWatcher, upTo?: number): string[] {
  const [first, ...rest] = w.responses;
  if (!first?.created) return ['first response is not `created`'];
  if (first.canceled) return [];
  const errs: string[] = [];
  const real = new Map<string, Event>();
  for (const rc of history) for (const ev of rc.events) real.set(`${ev.kv.key.toString('latin1')}@${rc.revision}`, ev);
  const start = w.request.startRevision || first.revision + 1;
  let model = stateAt(history, w.request, start - 1);
  let last = start - 1;
  const live = rest.filter((r) => !r.lagging);
  for (let i = 0; i < live.length; i++) {
    const r = live[i]!;
    if (r.canceled) {
      // Compaction passed a watcher still catching up (no resync asked): it ends, as in etcd,
      // and its state stops where it was, so there is no final state to compare. Only a cancel
      // that really was overtaken counts: the next revision it owed must be compacted.
      if (r.compactRevision !== undefined && r.compactRevision > 0) {
        if (last + 1 > r.compactRevision) errs.push(`canceled at compaction ${r.compactRevision} though it had delivered up to ${last}`);
        return errs.slice(0, 10);
      }
      break;
    }
    if (r.snapshotStart) {
      const t = readTransfer(live, i);
      errs.push(...t.errs);
      if (t.revision === undefined) return errs;
      i = t.next - 1;
      model = t.state;
      errs.push(...compareState(stateAt(history, w.request, t.revision), model, `snapshot at ${t.revision}`));
      last = t.revision;
      continue;
    }
    if (r.events.length === 0) {
      errs.push(...compareState(stateAt(history, w.request, r.revision), model, `bookmark ${r.revision}`));
      continue;
    }
    const seen = new Set<string>();
    const before = last;
    for (const ev of r.events) {
      const id = ev.kv.key.toString('latin1');
      const rev = ev.kv.modRevision;
      if (seen.has(id)) errs.push(`key ${id} twice in one batch`);
      seen.add(id);
      // Across responses strictly increasing; inside one, a txn's keys may share a revision.
      if (rev <= before || rev < last) errs.push(`revision ${rev} after ${last}: not increasing`);
      last = Math.max(last, rev);
      const truth = real.get(`${id}@${rev}`);
      if (!truth || truth.type !== ev.type || !sameKv(truth.kv, ev.kv)) errs.push(`${describe(ev)} is not the key's state at that revision`);
      if (ev.type === 'PUT') model.set(id, ev.kv);
      else model.delete(id);
    }
    if (r.revision < last) errs.push(`header revision ${r.revision} below its events' ${last}`);
  }
  if (upTo !== undefined) errs.push(...compareState(stateAt(history, w.request, upTo), model, `final state at ${upTo}`));
  return errs.slice(0, 10);
}

/** The exact-mode checks of one epoch: the events of revisions >= start, then maybe a cancel. */
function checkEpoch(history: readonly RevisionChanges[], request: WatchCreateRequest, id: number, start: number, rest: readonly WatchResponse[], compactedUpTo: number): string[] {
  const w = { request };
  const errs: string[] = [];
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
export function validateComplete(history: readonly RevisionChanges[], w: ObservedWatcher, upTo: number, compactedUpTo = 0): string[] {
  const errs = validateWatcher(history, w, compactedUpTo);
  const first = w.responses[0];
  if (!first?.created || first.canceled || w.responses.some((r) => r.canceled)) return errs;
  let start = w.request.startRevision || first.revision + 1;
  // After a state transfer, completeness counts from its revision on.
  let from = 1;
  w.responses.forEach((r, i) => {
    if (r.snapshotDone) {
      start = r.revision + 1;
      from = i + 1;
    }
  });
  if (w.responses.some((r) => r.snapshotStart) && from === 1) return [...errs, 'complete: a state transfer never finished'];
  const want = history
    .filter((rc) => rc.revision >= start && rc.revision <= upTo)
    .flatMap((rc) => rc.events)
    .filter((ev) => contains(w.request, ev.kv.key) && !(ev.type === 'PUT' ? w.request.noPut : w.request.noDelete)).length;
  const got = w.responses.slice(from).reduce((n, r) => n + r.events.length, 0);
  if (got !== want) errs.push(`complete: got ${got} events, expected ${want} up to ${upTo}`);
  return errs;
}
