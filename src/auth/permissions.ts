/**
 * Key-range permissions, as etcd's auth/range_perm_cache.go decides them: a user's READ and
 * WRITE grants (over all its roles) are merged into sorted, non-overlapping intervals, and a
 * request on [key, rangeEnd) is allowed when ONE merged interval covers it.
 *
 * Range conventions (etcd's): an empty rangeEnd means the single key `key`; rangeEnd "\0" means
 * every key >= key. A single key k is the interval [k, k+"\0").
 */
import { isFromKeyEnd } from '../mvcc/key-range.ts';

export type PermType = 'READ' | 'WRITE' | 'READWRITE';
export const PERM_TYPES: readonly PermType[] = ['READ', 'WRITE', 'READWRITE'];

export interface Permission {
  permType: PermType;
  key: Buffer;
  /** Empty: the single key; "\0": every key from `key` on. */
  rangeEnd: Buffer;
}

/** [start, end) with end null = +infinity. */
interface Interval {
  start: Buffer;
  end: Buffer | null;
}

function toInterval(key: Buffer, rangeEnd: Buffer | undefined): Interval {
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start: key, end: Buffer.concat([key, Buffer.of(0)]) };
  if (isFromKeyEnd(rangeEnd)) return { start: key, end: null };
  return { start: key, end: rangeEnd };
}

/** end a >= end b, with null as +infinity. */
function endGe(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null) return true;
  if (b === null) return false;
  return Buffer.compare(a, b) >= 0;
}

/** A merged, sorted set of intervals one can ask "is [key, rangeEnd) inside one of you?". */
export class IntervalSet {
  private readonly intervals: Interval[];

  constructor(perms: ReadonlyArray<{ key: Buffer; rangeEnd: Buffer }>) {
    const list = perms
      .map((p) => toInterval(p.key, p.rangeEnd))
      .filter((i) => i.end === null || Buffer.compare(i.start, i.end) < 0)
      .sort((a, b) => Buffer.compare(a.start, b.start));
    const merged: Interval[] = [];
    for (const i of list) {
      const last = merged[merged.length - 1];
      // Overlapping or touching intervals join (etcd merges adjacent grants too).
      if (last && (last.end === null || Buffer.compare(i.start, last.end) <= 0)) {
        if (!endGe(last.end, i.end)) last.end = i.end;
      } else merged.push({ start: i.start, end: i.end });
    }
    this.intervals = merged;
  }

  covers(key: Buffer, rangeEnd?: Buffer): boolean {
    const want = toInterval(key, rangeEnd);
    for (const i of this.intervals) {
      if (Buffer.compare(i.start, want.start) > 0) return false; // sorted: no later one starts early enough
      if (endGe(i.end, want.end)) return true;
    }
    return false;
  }
}

/** The READ and WRITE interval sets of a set of permissions (READWRITE counts for both). */
export function permSets(perms: readonly Permission[]): { read: IntervalSet; write: IntervalSet } {
  return {
    read: new IntervalSet(perms.filter((p) => p.permType !== 'WRITE')),
    write: new IntervalSet(perms.filter((p) => p.permType !== 'READ')),
  };
}
