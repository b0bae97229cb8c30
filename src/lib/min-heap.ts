/**
 * A binary min-heap ordered by a numeric priority. Generic: no project imports. Used by the
 * lessor as its expiry queue (entries are never updated in place; a changed priority is pushed
 * again and the stale entry is skipped by the caller when it surfaces, as etcd's LeaseQueue).
 */
export class MinHeap<T> {
  private readonly items: Array<{ priority: number; value: T }> = [];

  get size(): number {
    return this.items.length;
  }

  push(priority: number, value: T): void {
    const a = this.items;
    a.push({ priority, value });
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]!.priority <= a[i]!.priority) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }

  /** The smallest priority, or undefined when empty. */
  peekPriority(): number | undefined {
    return this.items[0]?.priority;
  }

  /** Removes and returns the entry with the smallest priority. */
  pop(): { priority: number; value: T } | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.priority < a[m]!.priority) m = l;
        if (r < a.length && a[r]!.priority < a[m]!.priority) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}
