import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Event } from '../../src/mvcc/kv.ts';
import { eventCost, RecentHistory } from '../../src/watch/recent-history.ts';

function events(rev: number, n: number): Event[] {
  return Array.from({ length: n }, (_, i) => ({
    type: 'PUT' as const,
    kv: { key: Buffer.from(`k${i}`), createRevision: rev, modRevision: rev, version: 1, value: Buffer.from('v'), lease: 0n },
  }));
}
/** bytes: what one event of events() counts */
const ONE = eventCost(events(1, 1)[0]!);

const revs = (h: RecentHistory, from: number, to: number, max = 1000) => h.read(from, to, max).map((rc) => rc.revision);

test('holds whole revisions up to its byte bound, dropping the oldest first', () => {
  const h = new RecentHistory(10 * ONE, 5);
  assert.ok(h.covers(5));
  assert.not.ok(h.covers(4));
  for (let rev = 5; rev <= 9; rev++) h.append(rev, events(rev, 3)); // 15 events offered, room for 10
  assert.is(h.size().events, 9); // revisions 7, 8, 9: a revision is never split
  assert.is(h.size().bytes, 9 * ONE);
  assert.not.ok(h.covers(6));
  assert.ok(h.covers(7));
  assert.equal(revs(h, 7, 9), [7, 8, 9]);
  assert.equal(revs(h, 8, 8), [8]);
  assert.equal(revs(h, 7, 100, 2), [7, 8]);
  assert.equal(revs(h, 10, 12), []);
});

test('events at or below the compaction revision are read without prev_kv, later ones keep it', () => {
  const h = new RecentHistory(100 * ONE, 1);
  const withPrev = (rev: number): Event[] => events(rev, 1).map((e) => ({ ...e, prevKv: events(rev - 1, 1)[0]!.kv }));
  for (let rev = 2; rev <= 4; rev++) h.append(rev, withPrev(rev));
  const got = h.read(2, 4, 10, 3).map((rc) => rc.events[0]!.prevKv !== undefined);
  assert.equal(got, [false, false, true]);
  assert.ok(h.read(2, 4, 10)[0]!.events[0]!.prevKv, 'the held events themselves are untouched');
});

test('big values count for their bytes: fewer of them fit', () => {
  const h = new RecentHistory(100_000, 1);
  const big = (rev: number): Event[] => [{ type: 'PUT', kv: { key: Buffer.from('k'), createRevision: rev, modRevision: rev, version: 1, value: Buffer.alloc(10_000), lease: 0n } }];
  for (let rev = 1; rev <= 20; rev++) h.append(rev, big(rev));
  assert.ok(h.size().events < 5, `${h.size().events} events of 10 KB held in 100 KB`);
  assert.ok(h.size().bytes <= 100_000);
  assert.ok(h.covers(20));
});

test('reads skip revisions that had no events and honour from/to inside gaps', () => {
  const h = new RecentHistory(100 * ONE, 1);
  for (const rev of [1, 2, 5, 6, 9]) h.append(rev, events(rev, 1));
  assert.equal(revs(h, 3, 6), [5, 6]);
  assert.equal(revs(h, 6, 8), [6]);
  assert.equal(revs(h, 1, 9, 3), [1, 2, 5]);
});

test('a revision larger than the bound empties it: history restarts after it', () => {
  const h = new RecentHistory(4 * ONE, 1);
  h.append(1, events(1, 2));
  h.append(2, events(2, 5));
  assert.is(h.size().events, 0);
  assert.not.ok(h.covers(2));
  assert.ok(h.covers(3));
  h.append(3, events(3, 1));
  assert.equal(revs(h, 3, 3), [3]);
});

test('bound 0 keeps nothing; the store answers every catch-up', () => {
  const h = new RecentHistory(0, 1);
  h.append(1, events(1, 1));
  assert.is(h.size().events, 0);
  assert.not.ok(h.covers(1));
  assert.ok(h.covers(2)); // nothing to read yet: an empty answer is right
  assert.equal(revs(h, 2, 2), []);
});

test('many appends keep reads right after the dropped prefix is compacted away', () => {
  const h = new RecentHistory(50 * ONE, 1);
  for (let rev = 1; rev <= 5000; rev++) h.append(rev, events(rev, 1));
  assert.is(h.size().events, 50);
  assert.ok(h.covers(4951));
  assert.not.ok(h.covers(4950));
  assert.equal(revs(h, 4990, 5000), [4990, 4991, 4992, 4993, 4994, 4995, 4996, 4997, 4998, 4999, 5000]);
});

test.run();
