import createRBTree from 'functional-red-black-tree';
import { ownedCopy } from '../lib/owned-bytes.ts';
import { KeyIndex, type KeyAt } from './key-index.ts';
import type { RangeEnd } from './key-range.ts';

/**
 * The in-memory index of every key: an ordered map (functional red-black tree, bytewise key
 * order) from key to its KeyIndex. It holds revisions, never values; values live in the backend
 * (and the newest one of each key in `KeyIndex.latest`). Rebuilt from the backend on open.
 * Range ends are normalised (key-range.ts): `undefined` = the single key, `null` = +infinity.
 */

/**
 * Tree keys are the KeyIndex objects themselves (which hold their key bytes without a Buffer of
 * their own); lookups pass plain key bytes. The comparator orders both bytewise.
 */
type TreeKey = KeyIndex | Buffer;
type Tree = createRBTree.Tree<TreeKey, KeyIndex>;

function compareKeys(a: TreeKey, b: TreeKey): number {
  if (a instanceof KeyIndex) return a.compare(b);
  return b instanceof KeyIndex ? -b.compare(a) : Buffer.compare(a, b);
}

export class TreeIndex {
  private tree: Tree;

  constructor(tree?: Tree) {
    this.tree = tree ?? createRBTree<TreeKey, KeyIndex>(compareKeys);
  }

  /**
   * Builds the index in O(n) from key indexes sorted by key (restore). Inserting a million keys
   * one by one into the persistent tree costs ~20 node copies each and dominated reopen time, so
   * this builds a balanced red-black tree directly: split at the middle, every level black but a
   * partial bottom level, which is red — all paths then have the same number of black nodes.
   * The library does not export its node constructor, so it is taken from a one-node tree.
   */
  static fromSorted(sorted: readonly KeyIndex[]): TreeIndex {
    const probe = createRBTree<TreeKey, KeyIndex>(compareKeys);
    if (sorted.length === 0) return new TreeIndex(probe);
    const one = probe.insert(sorted[0]!, sorted[0]!);
    const Node = one.root.constructor as new (
      color: number, key: TreeKey, value: KeyIndex, left: unknown, right: unknown, count: number,
    ) => unknown;
    const TreeClass = one.constructor as new (compare: typeof compareKeys, root: unknown) => Tree;
    const fullLevels = Math.floor(Math.log2(sorted.length + 1));
    const build = (lo: number, hi: number, depth: number): unknown => {
      if (lo >= hi) return null;
      const mid = (lo + hi) >>> 1;
      const ki = sorted[mid]!;
      const color = depth >= fullLevels ? 0 /* red */ : 1; /* black */
      return new Node(color, ki, ki, build(lo, mid, depth + 1), build(mid + 1, hi, depth + 1), hi - lo);
    };
    return new TreeIndex(new TreeClass(compareKeys, build(0, sorted.length, 0)));
  }

  get size(): number {
    return this.tree.length;
  }

  /** The key's index, if the key has any revision left. */
  lookup(key: Buffer): KeyIndex | undefined {
    return this.tree.get(key) ?? undefined;
  }

  lookupOrCreate(key: Buffer): KeyIndex {
    const found = this.tree.get(key);
    if (found) return found;
    // Own a copy: the caller's buffer may be a view into a larger request buffer or pool slab.
    const ki = new KeyIndex(ownedCopy(key));
    this.tree = this.tree.insert(ki, ki);
    return ki;
  }

  /**
   * Visits, in key order, every key in [key, end) that exists at `atRev`, with its state then.
   * `visit` returning true stops the walk.
   */
  range(key: Buffer, end: RangeEnd, atRev: number, visit: (ki: KeyIndex, at: KeyAt) => boolean | void): void {
    if (end === undefined) {
      const ki = this.tree.get(key);
      if (!ki) return;
      const at = ki.get(atRev);
      if (at) visit(ki, at);
      return;
    }
    if (end !== null && Buffer.compare(key, end) >= 0) return;
    for (let it = this.tree.ge(key); it.valid; it.next()) {
      if (end !== null && it.value!.compare(end) >= 0) break;
      const ki = it.value!;
      const at = ki.get(atRev);
      if (at && visit(ki, at) === true) break;
    }
  }

  /** Visits every key index in [key, end), whatever its state (for writes at the newest revision). */
  keysIn(key: Buffer, end: RangeEnd, visit: (ki: KeyIndex) => void): void {
    if (end === undefined) {
      const ki = this.tree.get(key);
      if (ki) visit(ki);
      return;
    }
    if (end !== null && Buffer.compare(key, end) >= 0) return;
    for (let it = this.tree.ge(key); it.valid; it.next()) {
      if (end !== null && it.value!.compare(end) >= 0) break;
      visit(it.value!);
    }
  }

  /**
   * Compacts every key at `atRev` and drops keys with nothing left. Returns the revisions that
   * must stay in the backend among those <= atRev ("main.sub" strings).
   */
  compact(atRev: number): Set<string> {
    const keep = new Set<string>();
    const emptied: KeyIndex[] = [];
    this.tree.forEach((_key, ki) => {
      ki.compact(atRev, keep);
      if (ki.isEmpty()) emptied.push(ki);
    });
    for (const key of emptied) this.tree = this.tree.remove(key);
    return keep;
  }

  /** Visits every key index in key order. */
  forEach(visit: (ki: KeyIndex) => void): void {
    this.tree.forEach((_key, ki) => {
      visit(ki);
    });
  }

  /** Every key index in key order (tests and invariant checks). */
  all(): KeyIndex[] {
    return this.tree.values;
  }
}
