/**
 * A sync pass's routing (src/watch/route-history.ts) against brute force: for random catching-up
 * watchers (ranges, filters, next revisions, many of them alike) and random history, each watcher
 * owes exactly the events a scan of every revision would pick, in order; watchers that route
 * alike share one list object (what lets transports encode a cohort's batch once); watchers no
 * longer catching up owe nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Event, RevisionChanges } from '../../src/mvcc/kv.ts';
import { Watcher, type WatcherStreamRef } from '../../src/watch/watcher.ts';
import { routeHistory } from '../../src/watch/route-history.ts';
import { Rng, testSeed } from '../support/rng.ts';

const nullStream: WatcherStreamRef = { offer: (r) => r.length, cancelCompacted: () => {}, notice: () => {} };
const KEYS = ['a', 'a/1', 'a/2', 'b', 'b/1', 'c'].map((k) => Buffer.from(k));
const RANGES: Array<[Buffer, Buffer | null | undefined]> = [
  [Buffer.from('a'), undefined],
  [Buffer.from('a/'), Buffer.from('a0')],
  [Buffer.from('b'), Buffer.from('c')],
  [Buffer.from('a'), null],
];

function history(rng: Rng, from: number, to: number): RevisionChanges[] {
  const out: RevisionChanges[] = [];
  for (let rev = from; rev <= to; rev++) {
    const events: Event[] = Array.from({ length: rng.int(1, 3) }, () => ({
      type: rng.chance(0.7) ? 'PUT' : 'DELETE',
      kv: { key: rng.pick(KEYS), createRevision: rev, modRevision: rev, version: 1, value: Buffer.from('v'), lease: 0n },
    }));
    out.push({ revision: rev, events });
  }
  return out;
}

function brute(w: Watcher, changes: readonly RevisionChanges[]): Event[] {
  const out: Event[] = [];
  for (const rc of changes) if (rc.revision >= w.minRev) for (const ev of rc.events) if (w.wants(ev)) out.push(ev);
  return out;
}

for (const watchers of [3, 40]) {
  test(`${watchers} catching-up watchers: each owes what a scan picks; alike ones share a list`, () => {
    const seed = testSeed();
    for (let round = 0; round < 50; round++) {
      const rng = new Rng(seed + round);
      const changes = history(rng, 10, 10 + rng.int(0, 30));
      const batch = Array.from({ length: watchers }, (_, id) => {
        const [key, end] = rng.pick(RANGES);
        const w = new Watcher(id, nullStream, key, end, rng.pick([10, 12, 25]), false, rng.chance(0.15), rng.chance(0.15), false, false);
        w.state = rng.chance(0.9) ? 'unsynced' : 'closed';
        return w;
      });
      const owed = routeHistory(batch, changes);
      for (const w of batch) {
        const want = w.state === 'unsynced' ? brute(w, changes) : [];
        assert.equal(owed.get(w) ?? [], want, `seed ${seed + round}, watcher ${w.id}`);
      }
      const live = batch.filter((w) => w.state === 'unsynced' && owed.has(w));
      for (const a of live)
        for (const b of live) {
          const alike = a.minRev === b.minRev && a.noPut === b.noPut && a.noDelete === b.noDelete && a.key.equals(b.key) && a.end === b.end;
          if (alike) assert.ok(owed.get(a) === owed.get(b), `seed ${seed + round}: watchers ${a.id} and ${b.id} route alike, one list`);
        }
    }
  });
}

test.run();
