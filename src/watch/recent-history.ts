import type { Event, RevisionChanges } from '../mvcc/kv.ts';

/**
 * The most recent committed revisions, as the commit delivered them, kept in memory so a watcher
 * catching up from the recent past is served without reading and decoding the store (the same
 * idea as Kubernetes' watch cache). The events are the very objects the commit published, so
 * their wire encoding (memoized per Event by the API layer) is shared with live fan-out too.
 *
 * Holds every revision in [start, last] that had events, and nothing older: a read from a revision
 * below `start` must go to the store. Bounded in bytes by an estimate of what the entries keep
 * alive (see eventCost); the oldest whole revisions are dropped first. Events are immutable and
 * carry prevKv whenever the key had one (kv.ts), so a watcher with or without prev_kv reads the
 * same entries.
 */
export class RecentHistory {
  private readonly revisions: Entry[] = [];
  /** index of the oldest live entry in `revisions` (dropped entries are spliced out lazily) */
  private head = 0;
  private held = 0;
  private events = 0;
  private start: number;

  constructor(
    /** bytes: most memory the entries may keep alive, by eventCost; 0 disables the cache */
    private readonly maxBytes: number,
    /** the first revision that will be appended (current revision + 1 at open) */
    firstRevision: number,
  ) {
    this.start = firstRevision;
  }

  /** Records one committed revision; revisions arrive in increasing order. */
  append(revision: number, events: readonly Event[]): void {
    let cost = 0;
    for (const ev of events) cost += eventCost(ev);
    if (cost > this.maxBytes) {
      // Too big to keep at all: the cache restarts after it.
      this.revisions.length = 0;
      this.head = 0;
      this.held = 0;
      this.events = 0;
      this.start = revision + 1;
      return;
    }
    this.revisions.push({ revision, events: events as Event[], cost });
    this.held += cost;
    this.events += events.length;
    while (this.held > this.maxBytes) {
      const old = this.revisions[this.head]!;
      this.revisions[this.head++] = undefined as unknown as Entry;
      this.held -= old.cost;
      this.events -= old.events.length;
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

  /** Events held, and their estimated bytes: for stats and tests. */
  size(): { events: number; bytes: number } {
    return { events: this.events, bytes: this.held };
  }

  /**
   * The revisions in [from, to], at most `maxRevisions` of them, oldest first; `covers(from)`
   * must hold. Shares the event arrays: callers must not modify them. As from the store (and
   * etcd), events at or below `compactRevision` come without prev_kv: that version is compacted.
   */
  read(from: number, to: number, maxRevisions: number, compactRevision = 0): RevisionChanges[] {
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
      const events = rc.revision <= compactRevision ? rc.events.map((e) => ({ type: e.type, kv: e.kv })) : rc.events;
      out.push({ revision: rc.revision, events });
    }
    return out;
  }
}

interface Entry {
  revision: number;
  events: Event[];
  /** bytes, by eventCost */
  cost: number;
}

/**
 * bytes: what one held event keeps alive besides its key and value bytes — the event and kv
 * objects, the value's own buffer (the store copies values out of Node's shared pool, see
 * lib/owned-bytes.ts), the history entry and the memoized JSON. Fitted to
 * bench/watch-history-memory.ts on Node 20 (2026-12-01): held bytes per event = 630 + 2.33 ×
 * (key + value bytes) for 4 B to 1 KiB values, within 2%. The previous fit (400, counting
 * prev_kv's bytes too) undercounted small events by 1.4x.
 */
export const EVENT_HELD_OVERHEAD_BYTES = 630;

export function eventCost(ev: Event): number {
  // The bytes themselves, plus the memoized JSON repeating key and value in base64 (4/3).
  // prev_kv is the kv of the key's event before, so its bytes are counted there.
  return EVENT_HELD_OVERHEAD_BYTES + Math.ceil((ev.kv.key.length + ev.kv.value.length) * 2.34); // whole bytes: sums stay exact
}
