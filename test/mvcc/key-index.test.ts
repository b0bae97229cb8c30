import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkGenerations, KeyIndex } from '../../src/mvcc/key-index.ts';
import { encodeRecord } from '../../src/mvcc/kv-codec.ts';
import { TreeIndex } from '../../src/mvcc/tree-index.ts';
import { Rng, testSeed } from '../support/rng.ts';

const rev = (main: number, sub = 0) => ({ main, sub });

// The drawn fixture from key-index.ts: put@2 put@3 delete@5 put@7 delete@9.
function fixture(): KeyIndex {
  const ki = new KeyIndex(Buffer.from('foo'));
  ki.put(rev(2));
  ki.put(rev(3));
  ki.tombstone(rev(5));
  ki.put(rev(7));
  ki.tombstone(rev(9));
  return ki;
}

test('get walks generations: before create, live, deleted, re-created', () => {
  const ki = fixture();
  assert.is(ki.get(1), undefined);
  assert.equal(ki.get(2), { mod: rev(2), created: 2, version: 1 });
  assert.equal(ki.get(4), { mod: rev(3), created: 2, version: 2 });
  assert.is(ki.get(5), undefined, 'deleted at 5');
  assert.is(ki.get(6), undefined);
  assert.equal(ki.get(8), { mod: rev(7), created: 7, version: 1 });
  assert.is(ki.get(9), undefined);
  assert.is(ki.get(100), undefined);
  assert.not.ok(ki.isLive());
});

test('compact keeps the newest revision at or below the compaction point', () => {
  const ki = fixture();
  const keep = new Set<string>();
  ki.compact(4, keep);
  assert.equal([...keep], ['3.0']);
  assert.equal(ki.revisions(), [rev(3), rev(5), rev(7), rev(9)]);
  assert.equal(ki.get(4), { mod: rev(3), created: 2, version: 2 }, 'read at the compaction point still works');
  const keep2 = new Set<string>();
  ki.compact(6, keep2);
  assert.equal([...keep2], [], 'a generation deleted by 6 goes whole, tombstone included');
  assert.equal(ki.revisions(), [rev(7), rev(9)]);
  const keep3 = new Set<string>();
  ki.compact(9, keep3);
  assert.equal([...keep3], ['9.0'], 'a tombstone at exactly the compaction revision stays, so history from there is whole');
  assert.is(ki.get(9), undefined);
  ki.compact(10, new Set());
  assert.ok(ki.isEmpty(), 'deleted key with no history left');
});

test('a key restored into a larger buffer, with its newest kv packed, reads like a written one', () => {
  const written = fixture();
  written.put(rev(11));
  // The same history from a tombstone-first restore, the key a view into a record buffer.
  const record = encodeRecord({ key: Buffer.from('foo'), createRevision: 11, modRevision: 11, version: 1, value: Buffer.from('bar'), lease: 5n }, false);
  const slab = Buffer.concat([Buffer.from('junk'), record, Buffer.from('more')]);
  const restored = new KeyIndex(Buffer.from('xxfooyy'), 2, 5);
  restored.put(rev(2));
  restored.put(rev(3));
  restored.tombstone(rev(5));
  restored.put(rev(7));
  restored.tombstone(rev(9));
  restored.put(rev(11), 11, 1);
  restored.setPackedLatest(slab, 4, 4 + record.length);
  assert.equal(restored.generations(), written.generations());
  assert.is(restored.compare(Buffer.from('foo')), 0);
  assert.ok(restored.compare(Buffer.from('fop')) < 0 && restored.compare(Buffer.from('fo')) > 0);
  assert.is(restored.packedLength(), record.length);
  assert.is(restored.latestLease(), 5n, 'the lease is read from the packed record');
  assert.is(restored.packedLength(), record.length, 'without unpacking it');
  assert.equal(restored.latest, { key: Buffer.from('foo'), createRevision: 11, modRevision: 11, version: 1, value: Buffer.from('bar'), lease: 5n });
  assert.is(restored.packedLength(), 0, 'decoded once, then kept');
  assert.ok(checkGenerations(restored.rawGenerations()));
  assert.not.ok(checkGenerations([0, 0, 1, 5, 0, 0, 0, 1, 4, 0, 0, 0, 0]), 'revisions must grow');
  assert.not.ok(checkGenerations([2, 1, 0, 2, 1, 1, 3, 0]), 'only the last generation may be empty');
});

test('tree index ranges: single key, prefix, from-key, empty range', () => {
  const idx = new TreeIndex();
  const keys = ['a', 'ab', 'b', 'c'];
  keys.forEach((k, i) => idx.lookupOrCreate(Buffer.from(k)).put(rev(i + 2)));
  const seen = (key: string, end: Buffer | null | undefined, at: number) => {
    const out: string[] = [];
    idx.range(Buffer.from(key), end, at, (ki) => void out.push(ki.key.toString()));
    return out;
  };
  assert.equal(seen('a', undefined, 10), ['a']);
  assert.equal(seen('a', Buffer.from('b'), 10), ['a', 'ab']);
  assert.equal(seen('ab', null, 10), ['ab', 'b', 'c']);
  assert.equal(seen('b', Buffer.from('a'), 10), []);
  assert.equal(seen('a', null, 3), ['a', 'ab'], 'keys created after the read revision are invisible');
});

test('key index and tree index agree with brute-force histories (seeded)', () => {
  const seed = testSeed();
  const rng = new Rng(seed);
  const idx = new TreeIndex();
  // Brute force: per key, the list of (revision, alive) snapshots.
  const history = new Map<string, Array<{ rev: number; alive: boolean; created: number; version: number }>>();
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  let compactRev = 0;
  for (let r = 2; r < 600; r++) {
    const k = rng.pick(names);
    const h = history.get(k) ?? [];
    history.set(k, h);
    const last = h[h.length - 1];
    const ki = idx.lookupOrCreate(Buffer.from(k));
    if (last?.alive && rng.chance(0.3)) {
      ki.tombstone(rev(r));
      h.push({ rev: r, alive: false, created: 0, version: 0 });
    } else {
      ki.put(rev(r));
      h.push({ rev: r, alive: true, created: last?.alive ? last.created : r, version: last?.alive ? last.version + 1 : 1 });
    }
    if (rng.chance(0.05)) {
      compactRev = rng.int(compactRev, r);
      idx.compact(compactRev);
    }
    for (let q = 0; q < 5; q++) {
      const at = rng.int(compactRev, r);
      for (const name of names) {
        const snaps = (history.get(name) ?? []).filter((s) => s.rev <= at);
        const s = snaps[snaps.length - 1];
        const got = idx.lookup(Buffer.from(name))?.get(at);
        if (!s || !s.alive) assert.is(got, undefined, `seed ${seed} key ${name} at ${at}`);
        else assert.equal(got, { mod: rev(s.rev), created: s.created, version: s.version }, `seed ${seed} key ${name} at ${at}`);
      }
    }
  }
});

test.run();
