/**
 * LatestTable: one shared "newest event per key" table for every lagging latest-value watcher.
 *
 * Before it, each stalled latest-value watcher kept its own per-key map, so 100 stalled watchers
 * on a 10,000-key prefix held up to a million entries. Every such map is the same thing seen
 * through a range and a revision floor: "the newest event of each key in my range changed since
 * revision F". So the engine keeps one table of the newest event of every key changed since
 * `since`, and a lagging watcher keeps only its floor; its batch is the table's entries in its
 * range at or above the floor. Memory is bounded by the number of distinct keys changed, whatever
 * the number of watchers (issue 17: "memory stays flat").
 *
 * Invariants:
 * - Map order is ascending revision: an event is deleted and re-inserted when its key changes
 *   again, and events are noted in commit order. So any filtered walk is a valid batch (each key
 *   once, revisions increasing), and pruning by revision only ever removes a prefix.
 * - While active, the table holds, for every key changed at a revision >= `floor()`, its newest
 *   event. It is active while the engine has latest-value watchers (so a watcher that starts
 *   lagging at revision F finds everything from F on), and empty otherwise.
 */
import type { Event } from '../mvcc/kv.ts';

export class LatestTable {
  private readonly byKey = new Map<string, Event>();
  /** Latest-value watchers alive: the table records commits only while there are any. */
  private readonly users = new Set<object>();
  /** Events below this revision may have been pruned (0 = inactive). */
  private since = 0;

  get active(): boolean {
    return this.users.size > 0;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** A latest-value watcher was created; `nextRev` is the next revision to be committed. */
  addUser(w: object, nextRev: number): void {
    if (this.users.size === 0) {
      this.byKey.clear();
      this.since = nextRev;
    }
    this.users.add(w);
  }

  /** Idempotent: a watcher may be removed twice (compaction cancel, then the client's cancel). */
  removeUser(w: object): void {
    if (this.users.delete(w) && this.users.size === 0) {
      this.byKey.clear();
      this.since = 0;
    }
  }

  /** Can a watcher lag from revision `from` on the table (everything from `from` is here)? */
  covers(from: number): boolean {
    return this.users.size > 0 && from >= this.since;
  }

  /** Records one commit's events (ascending revision, called once per commit while active). */
  note(events: readonly Event[]): void {
    for (const ev of events) {
      const id = ev.kv.key.toString('latin1');
      this.byKey.delete(id);
      this.byKey.set(id, ev);
    }
  }

  /** The events at or above `from` that `wants` accepts, in ascending revision, each key once. */
  collect(from: number, wants: (ev: Event) => boolean): Event[] {
    const out: Event[] = [];
    for (const ev of this.byKey.values()) if (ev.kv.modRevision >= from && wants(ev)) out.push(ev);
    return out;
  }

  /** Drops entries below `floor` (the lowest floor of the watchers still lagging on the table). */
  prune(floor: number): void {
    for (const [id, ev] of this.byKey) {
      if (ev.kv.modRevision >= floor) break;
      this.byKey.delete(id);
    }
    this.since = Math.max(this.since, floor);
  }
}
