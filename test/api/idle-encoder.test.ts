import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IdleEncoder } from '../../src/api/idle-encoder.ts';
import type { Event } from '../../src/mvcc/kv.ts';
import { until } from '../support/watch-harness.ts';

const options = { checkIntervalMs: 10, busyUtilization: 0.5, sliceMs: 5, maxBacklogBytes: 1000, costOf: () => 1 };

function events(revision: number, n: number): Event[] {
  return Array.from({ length: n }, (_, i) => ({
    type: 'PUT',
    kv: { key: Buffer.from(`k${revision}.${i}`), value: Buffer.alloc(0), createRevision: revision, modRevision: revision, version: 1, lease: 0 },
  })) as unknown as Event[];
}

const keyOf = (ev: Event): string => ev.kv.key.toString();

/** Blocks the event loop in 30 ms stretches until `stop` says so: a saturated server. */
function saturate(): { stop: () => void } {
  let on = true;
  const spin = (): void => {
    if (!on) return;
    const until = performance.now() + 30;
    while (performance.now() < until);
    setImmediate(spin);
  };
  setImmediate(spin);
  return { stop: () => (on = false) };
}

test('on a quiet loop every committed event is encoded, oldest first, once', async () => {
  const seen: string[] = [];
  const enc = new IdleEncoder((ev) => seen.push(keyOf(ev)), options);
  enc.onCommit(1, events(1, 3));
  enc.onCommit(2, events(2, 2));
  assert.is(enc.pending, 5);
  assert.equal(seen, [], 'nothing is encoded on the commit path itself');
  await until(() => enc.pending === 0, 5000, 'backlog encoded');
  assert.equal(seen, ['k1.0', 'k1.1', 'k1.2', 'k2.0', 'k2.1']);
  enc.stop();
});

test('while the loop is saturated nothing is encoded; once it is quiet the backlog is', async () => {
  const seen: string[] = [];
  const enc = new IdleEncoder((ev) => seen.push(keyOf(ev)), options);
  const load = saturate();
  // Let the first look see a busy interval, then commit under load.
  await new Promise((r) => setTimeout(r, 40));
  enc.onCommit(1, events(1, 4));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(seen, [], `encoded under load: ${seen.join(',')}`);
  assert.is(enc.pending, 4);
  load.stop();
  await until(() => enc.pending === 0, 5000, 'backlog encoded after the load');
  assert.is(seen.length, 4);
  enc.stop();
});

test('past maxBacklogBytes the oldest commits are left to be encoded on demand', async () => {
  const seen: string[] = [];
  const enc = new IdleEncoder((ev) => seen.push(keyOf(ev)), { ...options, maxBacklogBytes: 5 });
  const load = saturate();
  enc.onCommit(1, events(1, 3));
  enc.onCommit(2, events(2, 3));
  enc.onCommit(3, events(3, 2));
  assert.is(enc.pending, 5, 'revision 1 dropped: 3 + 2 fit');
  // One commit larger than the cap is still kept (the newest is never dropped).
  enc.onCommit(4, events(4, 7));
  assert.is(enc.pending, 7);
  load.stop();
  await until(() => enc.pending === 0, 5000, 'backlog encoded');
  assert.equal(seen, ['k4.0', 'k4.1', 'k4.2', 'k4.3', 'k4.4', 'k4.5', 'k4.6']);
  enc.stop();
});

test('stop() drops the backlog and ignores later commits', async () => {
  const seen: string[] = [];
  const enc = new IdleEncoder((ev) => seen.push(keyOf(ev)), options);
  enc.onCommit(1, events(1, 2));
  enc.stop();
  enc.onCommit(2, events(2, 2));
  assert.is(enc.pending, 0);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(seen, []);
});

test.run();
