/**
 * The watcher group's routing (map for single keys, interval tree for ranges) against brute
 * force: for random watchers, random adds and deletes and random events, route() must return
 * exactly the watchers a linear scan over every watcher's range and filters would pick, each
 * with its matching events in operation order.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Event } from '../../src/mvcc/kv.ts';
import { Watcher, type WatcherStreamRef } from '../../src/watch/watcher.ts';
import { WatcherGroup } from '../../src/watch/watcher-group.ts';
import { Rng, testSeed } from '../support/rng.ts';

const nullStream: WatcherStreamRef = { offer: (r) => r.length, cancelCompacted: () => {}, notice: () => {} };

/** Short keys over a small alphabet, with the empty byte, so ranges overlap and touch often. */
function randomKey(rng: Rng): Buffer {
  const len = rng.int(0, 3);
  return Buffer.from(Array.from({ length: len }, () => rng.pick([0x00, 0x61, 0x62, 0x63, 0xff])));
}

function randomWatcher(rng: Rng, id: number): Watcher {
  const key = randomKey(rng);
  let end: Buffer | null | undefined;
  const kind = rng.int(0, 3);
  if (kind === 0) end = undefined; // single key
  else if (kind === 1) end = null; // from key to +infinity
  else {
    // a non-empty range [key, end)
    const other = randomKey(rng);
    end = Buffer.compare(other, key) > 0 ? other : Buffer.concat([key, Buffer.from([rng.int(0, 255)])]);
  }
  const w = new Watcher(id, nullStream, key, end, rng.int(1, 6), false, rng.chance(0.2), rng.chance(0.2), false, false);
  return w;
}

function event(rng: Rng, rev: number): Event {
  const kv = { key: randomKey(rng), createRevision: rev, modRevision: rev, version: 1, value: Buffer.from('v'), lease: 0n };
  return { type: rng.chance(0.7) ? 'PUT' : 'DELETE', kv };
}

function bruteForce(watchers: Iterable<Watcher>, rev: number, events: readonly Event[]): Map<number, Event[]> {
  const out = new Map<number, Event[]>();
  for (const w of watchers) {
    if (rev < w.minRev) continue;
    const evs = events.filter((ev) => w.wants(ev));
    if (evs.length > 0) out.set(w.id, evs);
  }
  return out;
}

test('route() equals a brute-force scan under random adds, deletes and events', () => {
  const seed = testSeed();
  try {
    const rng = new Rng(seed);
    for (let round = 0; round < 20; round++) {
      const group = new WatcherGroup();
      const live = new Map<number, Watcher>();
      let nextId = 0;
      for (let step = 0; step < 400; step++) {
        const roll = rng.next();
        if (roll < 0.45) {
          const w = randomWatcher(rng, nextId++);
          group.add(w);
          live.set(w.id, w);
        } else if (roll < 0.6 && live.size > 0) {
          const w = rng.pick([...live.values()]);
          assert.ok(group.delete(w), 'delete of a present watcher');
          assert.not.ok(group.delete(w), 'second delete finds nothing');
          live.delete(w.id);
        } else {
          const rev = rng.int(1, 8);
          const events = Array.from({ length: rng.int(1, 4) }, () => event(rng, rev));
          const got = new Map([...group.route(rev, events)].map(([w, evs]) => [w.id, evs]));
          const want = bruteForce(live.values(), rev, events);
          assert.equal([...got.keys()].sort((a, b) => a - b), [...want.keys()].sort((a, b) => a - b), `watchers at step ${step}`);
          for (const [id, evs] of want) {
            // Same objects, same order: events are shared, never copied per watcher.
            const routed = got.get(id)!;
            assert.is(routed.length, evs.length, `event count for watcher ${id}`);
            evs.forEach((ev, i) => assert.ok(routed[i] === ev, `event ${i} of watcher ${id} is the shared object`));
          }
        }
        assert.is(group.size, live.size, 'size tracks adds and deletes');
      }
    }
  } catch (err) {
    console.error(`watcher-group routing failed with TEST_SEED=${seed}`);
    throw err;
  }
});

test('a key watcher and a range watcher on the same key are both routed, and deleted independently', () => {
  const group = new WatcherGroup();
  const a = new Watcher(1, nullStream, Buffer.from('k'), undefined, 1, false, false, false, false, false);
  const r = new Watcher(2, nullStream, Buffer.from('a'), null, 1, false, false, false, false, false);
  group.add(a);
  group.add(r);
  const ev: Event = { type: 'PUT', kv: { key: Buffer.from('k'), createRevision: 3, modRevision: 3, version: 1, value: Buffer.from('x'), lease: 0n } };
  assert.equal([...group.route(3, [ev]).keys()].map((w) => w.id).sort(), [1, 2]);
  assert.ok(group.delete(r));
  assert.equal([...group.route(3, [ev]).keys()].map((w) => w.id), [1]);
  assert.ok(group.delete(a));
  assert.is(group.route(3, [ev]).size, 0);
  assert.is(group.size, 0);
});

test.run();
