import { IntervalTree } from '../lib/interval-tree.ts';
import type { Event } from '../mvcc/kv.ts';
import type { Watcher } from './watcher.ts';

/**
 * The synced watchers, indexed for routing: single-key watchers in a map by key, range watchers
 * (prefix, from-key, everything) in an interval tree. Routing one event costs one map lookup
 * plus one stab, O(log n + matches) — never a walk over all watchers.
 */
export class WatcherGroup {
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly ranges = new IntervalTree<Watcher>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(w: Watcher): void {
    if (w.end === undefined) {
      const id = w.key.toString('latin1');
      let set = this.byKey.get(id);
      if (!set) this.byKey.set(id, (set = new Set()));
      set.add(w);
    } else {
      this.ranges.insert(w.key, w.end, w);
    }
    this.count++;
  }

  delete(w: Watcher): boolean {
    let removed: boolean;
    if (w.end === undefined) {
      const id = w.key.toString('latin1');
      const set = this.byKey.get(id);
      removed = set?.delete(w) ?? false;
      if (set && set.size === 0) this.byKey.delete(id);
    } else {
      removed = this.ranges.delete(w.key, w.end, w);
    }
    if (removed) this.count--;
    return removed;
  }

  /**
   * Routes one revision's events: for each watcher that wants at least one of them (range,
   * filters, start revision), the matching events in operation order. The lists are shared and
   * must not be modified.
   */
  route(revision: number, events: readonly Event[]): Map<Watcher, Event[]> {
    const out = new Map<Watcher, Event[]>();
    let ev: Event;
    const single = events.length === 1;
    const visit = (w: Watcher): void => {
      if (revision < w.minRev) return; // waiting for a future start revision
      if (ev.type === 'PUT' ? w.noPut : w.noDelete) return;
      const list = out.get(w);
      if (list) list.push(ev);
      // Most revisions hold one event: a watcher wanting it gets the revision's own array.
      else out.set(w, single ? (events as Event[]) : [ev]);
    };
    const byKey = this.byKey.size > 0;
    const ranges = this.ranges.size > 0;
    for (ev of events) {
      if (byKey) {
        const set = this.byKey.get(ev.kv.key.toString('latin1'));
        if (set) for (const w of set) visit(w);
      }
      if (ranges) this.ranges.stab(ev.kv.key, visit);
    }
    // A watcher that wants every event gets the revision's own array: all of them then share
    // one object, which lets the transport encode the list once for all of them.
    if (!single) for (const [w, list] of out) if (list.length === events.length) out.set(w, events as Event[]);
    return out;
  }
}
