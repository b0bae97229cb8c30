/**
 * An interval tree over byte strings: which of many half-open ranges [low, high) contain a point?
 * The watch engine keeps one range per range watcher and stabs it with every changed key.
 *
 * Shape: an AVL tree of distinct intervals ordered by (low, high), every node augmented with the
 * largest `high` in its subtree. `high = null` stands for +infinity and is greater than every key.
 * A node holds all values inserted under its interval (a multiset: the same value may be there
 * twice, and delete removes one occurrence), so the tree has at most one node per interval.
 *
 *                  [c, f) max=+inf
 *                 /               \
 *       [a, b) max=e          [d, +inf) max=+inf
 *            \
 *          [b, e) max=e
 *
 * stab(x) descends only where an interval can still hold x: a subtree whose maxHigh <= x holds
 * nothing, and once a node's low > x its whole right subtree starts after x. With an AVL height
 * of at most 1.44 log2(n), a stab costs O(log n + matches) in the usual case.
 *
 * Generic: this file imports nothing from the project.
 */

/** One tree node. Exported as a type only so tests can check the invariants. */
export interface IntervalNode<T> {
  readonly low: Buffer;
  /** null = +infinity. */
  readonly high: Buffer | null;
  /** Every value inserted under [low, high), oldest first; never empty. */
  values: T[];
  left: IntervalNode<T> | null;
  right: IntervalNode<T> | null;
  /** Height of the subtree rooted here (a leaf has height 1). */
  height: number;
  /** Largest high in the subtree rooted here (null = +infinity). */
  maxHigh: Buffer | null;
}

/** Compares two highs where null is +infinity. */
function compareHigh(a: Buffer | null, b: Buffer | null): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  return Buffer.compare(a, b);
}

function compareInterval<T>(node: IntervalNode<T>, low: Buffer, high: Buffer | null): number {
  return Buffer.compare(low, node.low) || compareHigh(high, node.high);
}

const heightOf = <T>(n: IntervalNode<T> | null): number => (n ? n.height : 0);

/** Recomputes height and maxHigh from the children; call bottom-up after any change below. */
function update<T>(n: IntervalNode<T>): void {
  n.height = 1 + Math.max(heightOf(n.left), heightOf(n.right));
  let max = n.high;
  if (n.left && compareHigh(n.left.maxHigh, max) > 0) max = n.left.maxHigh;
  if (n.right && compareHigh(n.right.maxHigh, max) > 0) max = n.right.maxHigh;
  n.maxHigh = max;
}

function rotateRight<T>(n: IntervalNode<T>): IntervalNode<T> {
  const l = n.left!;
  n.left = l.right;
  l.right = n;
  update(n);
  update(l);
  return l;
}

function rotateLeft<T>(n: IntervalNode<T>): IntervalNode<T> {
  const r = n.right!;
  n.right = r.left;
  r.left = n;
  update(n);
  update(r);
  return r;
}

/** Restores |height(left) - height(right)| <= 1 at n, assuming it holds in both subtrees. */
function rebalance<T>(n: IntervalNode<T>): IntervalNode<T> {
  update(n);
  const balance = heightOf(n.left) - heightOf(n.right);
  if (balance > 1) {
    if (heightOf(n.left!.left) < heightOf(n.left!.right)) n.left = rotateLeft(n.left!);
    return rotateRight(n);
  }
  if (balance < -1) {
    if (heightOf(n.right!.right) < heightOf(n.right!.left)) n.right = rotateRight(n.right!);
    return rotateLeft(n);
  }
  return n;
}

export class IntervalTree<T> {
  private root: IntervalNode<T> | null = null;
  private count = 0;
  /** > 0 while stab() runs; the tree must not change under a visitor (it would skip or repeat). */
  private visiting = 0;

  /** Number of (interval, value) pairs, counting duplicates. */
  get size(): number {
    return this.count;
  }

  /** Adds (interval, value). Inserting the same pair twice keeps two copies. */
  insert(low: Buffer, high: Buffer | null, value: T): void {
    this.assertNotVisiting();
    this.root = this.insertAt(this.root, low, high, value);
    this.count++;
  }

  /** Removes one copy of (interval, value), values compared with Object.is; false if absent. */
  delete(low: Buffer, high: Buffer | null, value: T): boolean {
    this.assertNotVisiting();
    const before = this.count;
    this.root = this.deleteAt(this.root, low, high, value);
    return this.count < before;
  }

  /** Calls visit(value) for every stored interval with low <= point < high. Do not modify the tree from visit. */
  stab(point: Buffer, visit: (value: T) => void): void {
    this.visiting++;
    try {
      this.stabAt(this.root, point, visit);
    } finally {
      this.visiting--;
    }
  }

  private stabAt(n: IntervalNode<T> | null, point: Buffer, visit: (value: T) => void): void {
    // Iterates down the right spine, recursing only into left children.
    while (n) {
      if (n.maxHigh !== null && Buffer.compare(n.maxHigh, point) <= 0) return;
      this.stabAt(n.left, point, visit);
      if (Buffer.compare(n.low, point) > 0) return; // n and its right subtree start after point
      if (n.high === null || Buffer.compare(point, n.high) < 0) {
        for (const v of n.values) visit(v);
      }
      n = n.right;
    }
  }

  private insertAt(n: IntervalNode<T> | null, low: Buffer, high: Buffer | null, value: T): IntervalNode<T> {
    if (!n) {
      // Own copies: a caller reusing its Buffers must not reorder the tree.
      const ownHigh = high === null ? null : Buffer.from(high);
      return { low: Buffer.from(low), high: ownHigh, values: [value], left: null, right: null, height: 1, maxHigh: ownHigh };
    }
    const c = compareInterval(n, low, high);
    if (c === 0) {
      n.values.push(value);
      return n;
    }
    if (c < 0) n.left = this.insertAt(n.left, low, high, value);
    else n.right = this.insertAt(n.right, low, high, value);
    return rebalance(n);
  }

  private deleteAt(n: IntervalNode<T> | null, low: Buffer, high: Buffer | null, value: T): IntervalNode<T> | null {
    if (!n) return null;
    const c = compareInterval(n, low, high);
    if (c < 0) n.left = this.deleteAt(n.left, low, high, value);
    else if (c > 0) n.right = this.deleteAt(n.right, low, high, value);
    else {
      const i = n.values.findIndex((v) => Object.is(v, value));
      if (i < 0) return n;
      n.values.splice(i, 1);
      this.count--;
      if (n.values.length > 0) return n;
      return this.unlink(n);
    }
    return rebalance(n);
  }

  /** Removes node n itself from its subtree and returns the new subtree root. */
  private unlink(n: IntervalNode<T>): IntervalNode<T> | null {
    if (!n.left) return n.right;
    if (!n.right) return n.left;
    // Replace n by its in-order successor (the leftmost node of the right subtree).
    let rest: IntervalNode<T> | null = null;
    const pull = (m: IntervalNode<T>): IntervalNode<T> => {
      if (!m.left) {
        rest = m.right;
        return m;
      }
      const successor = pull(m.left);
      m.left = rest;
      rest = rebalance(m);
      return successor;
    };
    const successor = pull(n.right);
    successor.right = rest;
    successor.left = n.left;
    return rebalance(successor);
  }

  private assertNotVisiting(): void {
    if (this.visiting > 0) throw new Error('IntervalTree modified during stab()');
  }
}
