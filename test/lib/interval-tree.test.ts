import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IntervalTree, type IntervalNode } from '../../src/lib/interval-tree.ts';
import { Rng, testSeed } from '../support/rng.ts';

const b = (s: string) => Buffer.from(s);
const hi = (h: Buffer | null) => (h === null ? '+inf' : h.toString('hex'));

function compareHigh(a: Buffer | null, c: Buffer | null): number {
  if (a === null) return c === null ? 0 : 1;
  if (c === null) return -1;
  return Buffer.compare(a, c);
}

/**
 * Test-only structural check: BST order by (low, high), AVL balance, correct heights, the maxHigh
 * augmentation, non-empty value lists, and a value count equal to size. Returns the height.
 */
function checkInvariants<T>(tree: IntervalTree<T>): void {
  // Element access reaches the private root on purpose: this check is the tree's white-box test.
  const root = tree['root'] as IntervalNode<T> | null;
  let values = 0;
  let prev: IntervalNode<T> | null = null;
  const walk = (n: IntervalNode<T> | null): number => {
    if (!n) return 0;
    const lh = walk(n.left);
    assert.ok(n.values.length > 0, 'a node never holds an empty value list');
    values += n.values.length;
    if (prev) {
      const order = Buffer.compare(prev.low, n.low) || compareHigh(prev.high, n.high);
      assert.ok(order < 0, `in-order intervals strictly increase: ${prev.low.toString('hex')} then ${n.low.toString('hex')}`);
    }
    prev = n;
    const rh = walk(n.right);
    assert.ok(Math.abs(lh - rh) <= 1, `AVL balance at ${n.low.toString('hex')}: ${lh} vs ${rh}`);
    assert.is(n.height, 1 + Math.max(lh, rh), 'stored height');
    let max = n.high;
    for (const child of [n.left, n.right]) if (child && compareHigh(child.maxHigh, max) > 0) max = child.maxHigh;
    assert.is(hi(n.maxHigh), hi(max), 'maxHigh is the largest high below');
    return n.height;
  };
  const height = walk(root);
  assert.is(values, tree.size, 'size counts every stored value');
  if (tree.size > 0) assert.ok(height <= 1.45 * Math.log2(tree.size + 2), `height ${height} is logarithmic in ${tree.size}`);
}

interface Entry {
  low: Buffer;
  high: Buffer | null;
  value: number;
}

/** The brute-force model: a plain list, scanned in full. */
function bruteStab(entries: Entry[], point: Buffer): number[] {
  return entries
    .filter((e) => Buffer.compare(e.low, point) <= 0 && (e.high === null || Buffer.compare(point, e.high) < 0))
    .map((e) => e.value)
    .sort((x, y) => x - y);
}

function treeStab(tree: IntervalTree<number>, point: Buffer): number[] {
  const out: number[] = [];
  tree.stab(point, (v) => out.push(v));
  return out.sort((x, y) => x - y);
}

test('drawn fixture: the intervals of the header picture', () => {
  const tree = new IntervalTree<string>();
  tree.insert(b('c'), b('f'), 'cf');
  tree.insert(b('a'), b('b'), 'ab');
  tree.insert(b('d'), null, 'd+');
  tree.insert(b('b'), b('e'), 'be');
  checkInvariants(tree);
  const stab = (p: string) => {
    const out: string[] = [];
    tree.stab(b(p), (v) => out.push(v));
    return out.sort();
  };
  assert.equal(stab('a'), ['ab']);
  assert.equal(stab('b'), ['be'], 'high is exclusive, low inclusive');
  assert.equal(stab('c'), ['be', 'cf']);
  assert.equal(stab('d'), ['be', 'cf', 'd+']);
  assert.equal(stab('e'), ['cf', 'd+']);
  assert.equal(stab('f'), ['d+']);
  assert.equal(stab('zzzz'), ['d+']);
  assert.equal(stab('0'), []);
  assert.is(tree.size, 4);
});

test('binary bounds: 0x00 and 0xff bytes, prefixes, and the whole keyspace', () => {
  const tree = new IntervalTree<string>();
  tree.insert(Buffer.from([0x00]), null, 'all'); // etcd's "every key" range from \0
  tree.insert(Buffer.from([0xff]), Buffer.from([0xff, 0x00]), 'ff');
  tree.insert(Buffer.from([0x61]), Buffer.from([0x62]), 'prefix a');
  tree.insert(Buffer.from([0x61, 0x00]), Buffer.from([0x61, 0x00, 0x00]), 'a\\0 only');
  const stab = (bytes: number[]) => {
    const out: string[] = [];
    tree.stab(Buffer.from(bytes), (v) => out.push(v));
    return out.sort();
  };
  assert.equal(stab([]), [], 'the empty key lies below \\0');
  assert.equal(stab([0x00]), ['all']);
  assert.equal(stab([0x61]), ['all', 'prefix a']);
  assert.equal(stab([0x61, 0x00]), ['a\\0 only', 'all', 'prefix a']);
  assert.equal(stab([0x61, 0x00, 0x00]), ['all', 'prefix a']);
  assert.equal(stab([0x61, 0xff, 0xff]), ['all', 'prefix a']);
  assert.equal(stab([0xff]), ['all', 'ff']);
  assert.equal(stab([0xff, 0x00]), ['all']);
  assert.equal(stab([0xff, 0xff, 0xff]), ['all']);
  checkInvariants(tree);
});

test('a multiset: duplicates are kept, delete removes one copy, absent deletes are false', () => {
  const tree = new IntervalTree<object>();
  const w1 = {};
  const w2 = {};
  tree.insert(b('a'), b('c'), w1);
  tree.insert(b('a'), b('c'), w1);
  tree.insert(b('a'), b('c'), w2);
  tree.insert(b('a'), null, w1);
  assert.is(tree.size, 4);
  let seen = 0;
  tree.stab(b('b'), () => seen++);
  assert.is(seen, 4);
  assert.is(tree.delete(b('a'), b('c'), w1), true);
  assert.is(tree.size, 3);
  assert.is(tree.delete(b('a'), b('c'), {}), false, 'values compare by identity');
  assert.is(tree.delete(b('a'), b('d'), w1), false, 'the interval must match exactly');
  assert.is(tree.delete(b('a'), b('c'), w1), true);
  assert.is(tree.delete(b('a'), b('c'), w1), false);
  assert.is(tree.delete(b('a'), null, w1), true);
  assert.is(tree.delete(b('a'), b('c'), w2), true);
  assert.is(tree.size, 0);
  tree.stab(b('b'), () => assert.unreachable('empty tree'));
  checkInvariants(tree);
});

test('the tree keeps its own copies of the bounds, and refuses changes during stab', () => {
  const tree = new IntervalTree<number>();
  const low = b('m');
  const high = b('p');
  tree.insert(low, high, 1);
  low.write('z');
  high.write('a');
  assert.equal(treeStab(tree, b('n')), [1]);
  assert.throws(() => tree.stab(b('n'), () => tree.insert(b('a'), null, 2)), /modified during stab/);
  assert.throws(() => tree.stab(b('n'), () => tree.delete(b('m'), b('p'), 1)), /modified during stab/);
  tree.insert(b('a'), null, 2); // allowed again once stab returned
  assert.equal(treeStab(tree, b('n')), [1, 2]);
});

test('seeded random inserts, deletes and stabs agree with brute force', () => {
  const seed = testSeed();
  try {
    for (let round = 0; round < 6; round++) {
      const rng = new Rng(seed + round);
      // A small alphabet makes equal bounds, shared lows and duplicate intervals common.
      const alphabet = [0x00, 0x01, 0x61, 0x62, 0xfe, 0xff];
      const key = () => Buffer.from(Array.from({ length: rng.int(1, 3) }, () => rng.pick(alphabet)));
      const tree = new IntervalTree<number>();
      const entries: Entry[] = [];
      for (let op = 0; op < 1500; op++) {
        const roll = rng.next();
        if (roll < 0.45 || entries.length === 0) {
          let low: Buffer = key();
          let high: Buffer | null = rng.chance(0.15) ? null : key();
          if (high && Buffer.compare(high, low) <= 0) [low, high] = [high, low];
          if (high && Buffer.compare(high, low) === 0) high = Buffer.concat([high, Buffer.from([0])]);
          // Reuse an earlier value now and then so the same (interval, value) pair is stored twice.
          const value = rng.chance(0.2) && entries.length > 0 ? rng.pick(entries).value : op;
          tree.insert(low, high, value);
          entries.push({ low, high, value });
        } else if (roll < 0.75) {
          const i = rng.int(0, entries.length - 1);
          const e = entries[i]!;
          assert.is(tree.delete(e.low, e.high, e.value), true, `delete existing at op ${op}`);
          entries.splice(i, 1);
        } else if (roll < 0.8) {
          const absent = -1 - op;
          assert.is(tree.delete(key(), null, absent), false, `delete absent at op ${op}`);
        } else {
          const point = rng.chance(0.1) ? Buffer.alloc(0) : key();
          assert.equal(treeStab(tree, point), bruteStab(entries, point), `stab ${point.toString('hex')} at op ${op}`);
        }
        assert.is(tree.size, entries.length);
        checkInvariants(tree);
      }
      // Drain: everything deletes, in random order, down to an empty tree.
      while (entries.length > 0) {
        const e = entries.splice(rng.int(0, entries.length - 1), 1)[0]!;
        assert.ok(tree.delete(e.low, e.high, e.value));
        if (entries.length % 25 === 0) checkInvariants(tree);
      }
      assert.is(tree.size, 0);
    }
  } catch (err) {
    console.error(`interval-tree random test failed with TEST_SEED=${seed}`);
    throw err;
  }
});

test('sequential inserts stay balanced and stab many-interval points correctly', () => {
  const tree = new IntervalTree<number>();
  const n = 4096;
  const k = (i: number) => Buffer.from(i.toString(16).padStart(4, '0'));
  for (let i = 0; i < n; i++) tree.insert(k(i), k(i + 10), i); // each point lies in 10 intervals
  checkInvariants(tree);
  assert.equal(treeStab(tree, k(2000)), Array.from({ length: 10 }, (_, j) => 1991 + j));
  assert.equal(treeStab(tree, k(0)), [0]);
  for (let i = 0; i < n; i += 2) assert.ok(tree.delete(k(i), k(i + 10), i));
  checkInvariants(tree);
  assert.equal(treeStab(tree, k(2000)), [1991, 1993, 1995, 1997, 1999]);
});

test.run();
