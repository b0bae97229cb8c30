import type { Event, RevisionChanges } from '../mvcc/kv.ts';
import type { Watcher } from './watcher.ts';
import { WatcherGroup } from './watcher-group.ts';

/**
 * Each catching-up watcher's events in `changes` (one sync pass), skipping watchers cancelled
 * during the read.
 *
 * Watchers that route alike — same next revision, range and put/delete filters — owe exactly the
 * same events, so they form one cohort: it is routed once and every member gets the same list
 * object. That is the common shape under load: a stream's watchers on one prefix become victims
 * together, catch up together, and each would otherwise cost the pass a stab per event; with one
 * shared list the transports also encode the batch once (they memoize by list identity).
 * Invariant: an owed list may be shared (between cohort members, or with the history itself),
 * so no one may modify it.
 *
 * A few cohorts are routed by testing each event against each; more, through a watcher group
 * built for the pass: O(events x (log n + matches)) rather than a scan per cohort.
 */
export function routeHistory(batch: readonly Watcher[], changes: readonly RevisionChanges[]): Map<Watcher, readonly Event[]> {
  const cohorts = new Map<string, Watcher[]>();
  for (const w of batch) {
    if (w.state !== 'unsynced') continue;
    const sig = routeSignature(w);
    const members = cohorts.get(sig);
    if (members) members.push(w);
    else cohorts.set(sig, [w]);
  }
  const owed = new Map<Watcher, readonly Event[]>();
  if (cohorts.size === 0) return owed;
  const leaders = [...cohorts.values()].map((members) => members[0]!);
  const byLeader = leaders.length <= DIRECT_ROUTE_MAX ? routeDirect(leaders, changes) : routeGrouped(leaders, changes);
  for (const members of cohorts.values()) {
    const list = byLeader.get(members[0]!);
    if (list) for (const w of members) owed.set(w, list);
  }
  return owed;
}

/** cohorts: up to this many in one pass are routed by testing each event against each. */
const DIRECT_ROUTE_MAX = 4;

/** What decides a catching-up watcher's events; equal signatures, equal events. */
function routeSignature(w: Watcher): string {
  const end = w.end === undefined ? '1' : w.end === null ? '∞' : w.end.toString('hex');
  return `${w.minRev}|${w.noPut ? 1 : 0}${w.noDelete ? 1 : 0}|${w.key.toString('hex')}|${end}`;
}

function routeDirect(leaders: readonly Watcher[], changes: readonly RevisionChanges[]): Map<Watcher, Event[]> {
  const owed = new Map<Watcher, Event[]>();
  for (const w of leaders) {
    const list: Event[] = [];
    for (const rc of changes) {
      if (rc.revision < w.minRev) continue;
      for (const ev of rc.events) if (w.wants(ev)) list.push(ev);
    }
    if (list.length > 0) owed.set(w, list);
  }
  return owed;
}

function routeGrouped(leaders: readonly Watcher[], changes: readonly RevisionChanges[]): Map<Watcher, Event[]> {
  const owed = new Map<Watcher, Event[]>();
  const group = new WatcherGroup();
  for (const w of leaders) group.add(w);
  for (const rc of changes) {
    for (const [w, evs] of group.route(rc.revision, rc.events)) {
      const list = owed.get(w);
      if (list) for (const ev of evs) list.push(ev);
      else owed.set(w, evs === rc.events ? evs.slice() : evs); // never append to a shared list
    }
  }
  return owed;
}
