/**
 * The mirrored key range at one upstream revision: every live key's current KeyValue, in key
 * order, answering serializable ranges without a round trip to etcd.
 *
 * Invariant: the state is exactly etcd's range [prefix, prefixEnd) at `revision` — set whole by
 * load() (a list at R) and then moved forward only by apply(), one upstream revision at a time
 * and in order. Reads at any other revision are not answered here (the caller forwards them).
 */
import type { Event, KeyValue, RangeRequest, RangeResult, SortTarget } from '../mvcc/kv.ts';

const EMPTY = Buffer.alloc(0);

export class Mirror {
  /** The upstream revision the state is at. */
  revision = 0;
  /** Keys in bytewise order. */
  private keys: Buffer[] = [];
  private readonly values = new Map<string, KeyValue>();

  /** Replaces the whole state with `kvs` (any order) at `revision`. */
  load(kvs: readonly KeyValue[], revision: number): void {
    this.values.clear();
    for (const kv of kvs) this.values.set(kv.key.toString('latin1'), kv);
    this.keys = kvs.map((kv) => kv.key).sort(Buffer.compare);
    this.revision = revision;
  }

  /** Applies one upstream revision's events (in operation order). */
  apply(revision: number, events: readonly Event[]): void {
    for (const ev of events) {
      const id = ev.kv.key.toString('latin1');
      const had = this.values.has(id);
      if (ev.type === 'PUT') {
        this.values.set(id, ev.kv);
        if (!had) this.keys.splice(this.lowerBound(ev.kv.key), 0, ev.kv.key);
      } else if (had) {
        this.values.delete(id);
        this.keys.splice(this.lowerBound(ev.kv.key), 1);
      }
    }
    this.revision = revision;
  }

  /** Moves the revision on with no change in the range (an upstream progress notification). */
  advance(revision: number): void {
    if (revision > this.revision) this.revision = revision;
  }

  get size(): number {
    return this.keys.length;
  }

  /**
   * A range at the mirror's revision, with etcd's rules (as mvcc/range-query.ts): `count`
   * before limit and filters; with a sort or a filter the limit applies last; a non-KEY sort
   * target with order NONE sorts ascending; keys_only drops values.
   */
  range(req: RangeRequest): RangeResult {
    const from = this.lowerBound(req.key);
    let to: number;
    const end = req.rangeEnd;
    if (end === undefined || end.length === 0) to = from < this.keys.length && this.keys[from]!.equals(req.key) ? from + 1 : from;
    else if (end.length === 1 && end[0] === 0) to = this.keys.length;
    else to = Buffer.compare(end, req.key) <= 0 ? from : this.lowerBound(end);
    const count = to - from;
    if (req.countOnly) return { revision: this.revision, kvs: [], count, more: false };
    let kvs: KeyValue[] = [];
    for (let i = from; i < to; i++) kvs.push(this.values.get(this.keys[i]!.toString('latin1'))!);
    if (req.minModRevision || req.maxModRevision || req.minCreateRevision || req.maxCreateRevision) {
      kvs = kvs.filter(
        (kv) =>
          (!req.maxModRevision || kv.modRevision <= req.maxModRevision) &&
          (!req.minModRevision || kv.modRevision >= req.minModRevision) &&
          (!req.maxCreateRevision || kv.createRevision <= req.maxCreateRevision) &&
          (!req.minCreateRevision || kv.createRevision >= req.minCreateRevision),
      );
    }
    const target: SortTarget = req.sortTarget ?? 'KEY';
    let order = req.sortOrder ?? 'NONE';
    if (target !== 'KEY' && order === 'NONE') order = 'ASCEND';
    if (order !== 'NONE') {
      const cmp = comparator(target);
      kvs.sort(order === 'DESCEND' ? (a, b) => cmp(b, a) : cmp);
    }
    let more = false;
    const limit = req.limit ?? 0;
    if (limit > 0 && kvs.length > limit) {
      kvs.length = limit;
      more = true;
    }
    if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
    return { revision: this.revision, kvs, count, more };
  }

  /** Index of the first key >= `key`. */
  private lowerBound(key: Buffer): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (Buffer.compare(this.keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function comparator(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case 'KEY':
      return (a, b) => Buffer.compare(a.key, b.key);
    case 'VERSION':
      return (a, b) => a.version - b.version;
    case 'CREATE':
      return (a, b) => a.createRevision - b.createRevision;
    case 'MOD':
      return (a, b) => a.modRevision - b.modRevision;
    case 'VALUE':
      return (a, b) => Buffer.compare(a.value, b.value);
  }
}
