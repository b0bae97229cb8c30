/**
 * The watch validator on hand-made histories and streams (no engine): a correct stream passes,
 * and each kind of broken stream — dropped, duplicated, reordered, filtered-out event delivered,
 * wrong prev_kv, a revision split without `fragment`, a bookmark ahead of its events, an
 * unjustified compaction cancel — yields at least one violation naming the problem.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Event, KeyValue, RevisionChanges } from '../../src/mvcc/kv.ts';
import type { WatchCreateRequest, WatchResponse } from '../../src/watch/watch-api.ts';
import { validateComplete, validateLatest, validateWatcher, type ObservedWatcher } from './watch-validator.ts';

const b = (s: string) => Buffer.from(s, 'latin1');
const kv = (key: string, rev: number, version: number, value = `v${rev}`): KeyValue => ({ key: b(key), createRevision: rev - version + 1, modRevision: rev, version, value: b(value), lease: 0n });

// rev 2: put a (create); rev 3: put a, put b (one txn); rev 4: delete a; rev 5: put b.
const a2 = kv('a', 2, 1);
const a3 = kv('a', 3, 2);
const b3 = kv('b', 3, 1);
const b5 = kv('b', 5, 2);
const history: RevisionChanges[] = [
  { revision: 2, events: [{ type: 'PUT', kv: a2 }] },
  { revision: 3, events: [{ type: 'PUT', kv: a3, prevKv: a2 }, { type: 'PUT', kv: b3 }] },
  { revision: 4, events: [{ type: 'DELETE', kv: { ...kv('a', 4, 0, ''), createRevision: 0 }, prevKv: a3 }] },
  { revision: 5, events: [{ type: 'PUT', kv: b5, prevKv: b3 }] },
];
const ev = (rev: number, i: number): Event => history.find((h) => h.revision === rev)!.events[i]!;

const request = (over: Partial<WatchCreateRequest> = {}): WatchCreateRequest => ({
  key: b('a'), rangeEnd: b('c'), startRevision: 2, progressNotify: false, prevKv: false, noPut: false, noDelete: false, watchId: 0, fragment: false, ...over,
});
const created: WatchResponse = { watchId: 0, revision: 1, created: true, events: [], withPrevKv: false };
const events = (revision: number, evs: Event[], extra: Partial<WatchResponse> = {}): WatchResponse => ({ watchId: 0, revision, events: evs, withPrevKv: false, ...extra });
const watcher = (responses: WatchResponse[], over: Partial<WatchCreateRequest> = {}): ObservedWatcher => ({ request: request(over), responses: [{ ...created }, ...responses] });

const good = [events(2, [ev(2, 0)]), events(3, [ev(3, 0), ev(3, 1)]), events(4, [ev(4, 0)]), events(5, [ev(5, 0)])];

test('a correct stream passes, whole or as a prefix, with bookmarks after its events', () => {
  assert.equal(validateComplete(history, watcher(good), 5), []);
  assert.equal(validateWatcher(history, watcher(good.slice(0, 2))), []);
  assert.equal(validateWatcher(history, watcher([...good.slice(0, 2), events(3, [])])), []);
});

test('dropped, duplicated and reordered events are caught', () => {
  assert.ok(validateComplete(history, watcher([good[0]!, good[2]!, good[3]!]), 5).length > 0, 'dropped');
  assert.ok(validateWatcher(history, watcher([good[0]!, good[1]!, good[1]!])).length > 0, 'duplicated');
  assert.ok(validateWatcher(history, watcher([good[1]!, good[0]!])).length > 0, 'reordered');
  assert.ok(validateWatcher(history, watcher([good[0]!, events(3, [ev(3, 1), ev(3, 0)])])).length > 0, 'reordered inside a revision');
});

test('filters: a delete sent to a NODELETE watcher is caught; the filtered stream passes', () => {
  const filtered = [good[0]!, good[1]!, good[3]!];
  assert.equal(validateComplete(history, watcher(filtered, { noDelete: true }), 5), []);
  assert.ok(validateComplete(history, watcher(good, { noDelete: true }), 5).length > 0);
});

test('prev_kv: a wrong previous value and a withPrevKv flag contrary to the request are caught', () => {
  const withPrev = good.map((r) => ({ ...r, withPrevKv: true }));
  assert.equal(validateComplete(history, watcher(withPrev, { prevKv: true }), 5), []);
  const wrong = [...withPrev];
  wrong[2] = events(4, [{ ...ev(4, 0), prevKv: a2 }], { withPrevKv: true });
  assert.ok(validateComplete(history, watcher(wrong, { prevKv: true }), 5).some((e) => e.includes('prev_kv')));
  assert.ok(validateComplete(history, watcher(good, { prevKv: true }), 5).some((e) => e.includes('withPrevKv')));
});

test('prev_kv: missing is allowed only for events at or below the compaction revision; wrong never', () => {
  const withPrev = good.map((r) => ({ ...r, withPrevKv: true }));
  const missing = [...withPrev];
  missing[2] = events(4, [{ type: 'DELETE', kv: ev(4, 0).kv }], { withPrevKv: true });
  const w = watcher(missing, { prevKv: true });
  assert.ok(validateWatcher(history, w).some((e) => e.includes('prev_kv')), 'missing, nothing compacted');
  assert.ok(validateWatcher(history, w, 3).some((e) => e.includes('prev_kv')), 'missing above the compaction');
  assert.equal(validateWatcher(history, w, 4), []);
  const wrong = [...withPrev];
  wrong[2] = events(4, [{ ...ev(4, 0), prevKv: a2 }], { withPrevKv: true });
  assert.ok(validateWatcher(history, watcher(wrong, { prevKv: true }), 4).some((e) => e.includes('prev_kv')), 'wrong, even if compacted');
});

test('atomic: a revision split across responses needs `fragment` on every part but the last', () => {
  const split = [good[0]!, events(3, [ev(3, 0)]), events(3, [ev(3, 1)])];
  assert.ok(validateWatcher(history, watcher(split)).some((e) => e.includes('split')));
  const fragmented = [good[0]!, events(3, [ev(3, 0)], { fragment: true }), events(3, [ev(3, 1)])];
  assert.equal(validateWatcher(history, watcher(fragmented, { fragment: true })), []);
});

test('bookmarkable: a progress at R before every event <= R is caught', () => {
  assert.ok(validateWatcher(history, watcher([good[0]!, events(4, [])])).some((e) => e.includes('progress')));
});

test('compaction cancel: justified only when the next owed revision is compacted, header revision 0', () => {
  const cancel = (compactRevision: number, revision = 0): WatchResponse => ({ watchId: 0, revision, canceled: true, compactRevision, events: [], withPrevKv: false });
  assert.equal(validateWatcher(history, watcher([good[0]!, cancel(3)])), [], 'next owed is rev 3, compacted at 3');
  assert.ok(validateWatcher(history, watcher([good[0]!, good[1]!, cancel(3)])).length > 0, 'could resume at 4');
  assert.ok(validateWatcher(history, watcher([good[0]!, cancel(3, 5)])).some((e) => e.includes('header revision')));
  assert.ok(validateWatcher(history, watcher([good[0]!, cancel(3), good[1]!])).some((e) => e.includes('after cancel')));
});

test('a stream that does not start with `created` is rejected', () => {
  assert.ok(validateWatcher(history, { request: request(), responses: good }).length > 0);
});

test('latest mode: a compaction cancel ends the stream only when it overtook the watcher', () => {
  const cancel = (compactRevision: number): WatchResponse => ({ watchId: 0, revision: 0, events: [], withPrevKv: false, canceled: true, compactRevision });
  // Delivered up to 2, then compaction at 4 removed what it owed: no final state to compare.
  assert.equal(validateLatest(history, watcher([good[0]!, cancel(4)], { delivery: 'latest' }), 5), []);
  // Without the cancel the same stream misses the final state.
  assert.ok(validateLatest(history, watcher([good[0]!], { delivery: 'latest' }), 5).length > 0);
  // Delivered up to 5, so a compaction at 3 could not have overtaken it.
  assert.ok(validateLatest(history, watcher([...good, cancel(3)], { delivery: 'latest' }), 5).length > 0);
});

test.run();
