import type { Event, RevisionChanges } from '../mvcc/kv.ts';

/**
 * The most recent committed revisions, as the commit delivered them, kept in memory so a watcher
 * catching up from the recent past is served without reading and decoding the store (the same
 * idea as Kubernetes' watch cache). The events are the very objects the commit published, so
 * their wire encoding (memoized per Event by the API layer) is shared with live fan-out too.
 *
 * Holds every revision in [start, last] that had events, and nothing older: a read from a revision
 * below `start` must go to the store. Bounded by the number of events held; the oldest whole
 * revisions are dropped first. Events are immutable and carry prevKv whenever the key had one
 * (kv.ts), so a watcher with or without prev_kv reads the same entries.
 */
export class RecentHistory {
  private readonly revisions: RevisionChanges[] = [];
  /** index of the oldest live entry in `revisions` (dropped entries are spliced out lazily) */
  private head = 0;
  private held = 0;
  private start: number;

  constructor(
    /** events: most events held; 0 disables the cache */
    private readonly maxEvents: number,
    /** the first revision that will be appended (current revision + 1 at open) */
    firstRevision: number,
  ) {
    this.start = firstRevision;
  }

  /** Records one committed revision; revisions arrive in increasing order. */
  append(revision: number, events: readonly Event[]): void {
    if (events.length > this.maxEvents) {
      // Too big to keep at all: the cache restarts after it.
      this.revisions.length = 0;
      this.head = 0;
      this.held = 0;
      this.start = revision + 1;
      return;
    }
    this.revisions.push({ revision, events: events as Event[] });
    this.held += events.length;
    while (this.held > this.maxEvents) {
      const old = this.revisions[this.head]!;
      this.revisions[this.head++] = undefined as unknown as RevisionChanges;
      this.held -= old.events.length;
      this.start = old.revision + 1;
    }
    // Compact the array once the dropped prefix is as long as what is left.
    if (this.head > 1024 && this.head * 2 > this.revisions.length) {
      this.revisions.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Can a read starting at `from` be answered here? */
  covers(from: number): boolean {
    return from >= this.start;
  }

  /** Events held: for stats and tests. */
  size(): number {
    return this.held;
  }

  /**
   * The revisions in [from, to], at most `maxRevisions` of them, oldest first; `covers(from)`
   * must hold. Shares the event arrays: callers must not modify them.
   */
  read(from: number, to: number, maxRevisions: number): RevisionChanges[] {
    const out: RevisionChanges[] = [];
    const revs = this.revisions;
    // First entry with revision >= from: binary search over the live part.
    let lo = this.head;
    let hi = revs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (revs[mid]!.revision < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < revs.length && out.length < maxRevisions; i++) {
      const rc = revs[i]!;
      if (rc.revision > to) break;
      out.push(rc);
    }
    return out;
  }
}
