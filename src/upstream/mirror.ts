/**
 * The mirrored key range at one upstream revision: every live key's current KeyValue, in key
 * order, answering serializable ranges without a round trip to etcd.
 *
 * Invariant: the state is exactly etcd's range [prefix, prefixEnd) at `revision` — set whole by
 * load() (a list at R) and then moved forward only by apply(), one upstream revision at a time
 * and in order. Reads at any other revision are not answered here (the caller forwards them).
 */
import type { Event, KeyValue, RangeRequest, RangeResult } from '../mvcc/kv.ts';
import { fetchCount, finishRange } from '../mvcc/range-query.ts';
import { isFromKeyEnd } from '../mvcc/key-range.ts';

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
   * A range at the mirror's revision, with etcd's rules shared with the store
   * (mvcc/range-query.ts: which keys are read, then filters, sort, limit, keys_only).
   */
  range(req: RangeRequest): RangeResult {
    const from = this.lowerBound(req.key);
    let to: number;
    const end = req.rangeEnd;
    if (end === undefined || end.length === 0) to = from < this.keys.length && this.keys[from]!.equals(req.key) ? from + 1 : from;
    else if (isFromKeyEnd(end)) to = this.keys.length;
    else to = Buffer.compare(end, req.key) <= 0 ? from : this.lowerBound(end);
    const count = to - from;
    if (req.countOnly) return { revision: this.revision, kvs: [], count, more: false };
    const kvs: KeyValue[] = [];
    const last = from + fetchCount(req, count);
    for (let i = from; i < last; i++) kvs.push(this.values.get(this.keys[i]!.toString('latin1'))!);
    return finishRange(req, kvs, count, this.revision);
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

