import type { KeyValue } from './kv.ts';
import { revisionKey, type Revision } from './revision.ts';

/**
 * The revisions of one key, as a list of generations. A generation runs from the put that
 * creates the key to the delete that ends it; that delete's revision (the tombstone) is the
 * generation's last revision, and a new, empty generation follows it.
 *
 *   put@2 put@3 delete@5 put@7          generations:
 *                                         [2.0, 3.0, 5.0(tombstone)]  created 2, ver 3
 *                                         [7.0]                       created 7, ver 1
 *   ... then delete@9                     [2.0, 3.0, 5.0] [7.0, 9.0] []
 *
 * Invariants: there is always at least one generation; only the last may be empty; every
 * generation but the last ends with its tombstone; revisions grow along the list.
 */
interface Generation {
  /** Version of the key at the generation's newest revision (the tombstone counts, as etcd). */
  ver: number;
  /** Create revision of this generation (main); carried explicitly so compaction can drop revs. */
  created: number;
  revs: Revision[];
}

/** What a key looked like at some revision. */
export interface KeyAt {
  mod: Revision;
  created: number;
  version: number;
}

export class KeyIndex {
  readonly key: Buffer;
  private generations: Generation[] = [{ ver: 0, created: 0, revs: [] }];
  /**
   * The key's newest kv as applied in memory, or undefined while the key is deleted. Serves
   * reads at the newest revision without a backend read; readers at an older revision check
   * `latest.modRevision` before trusting it.
   */
  latest: KeyValue | undefined;

  constructor(key: Buffer) {
    this.key = key;
  }

  /**
   * Records a put at `rev`. `created` / `version` are given when restoring from records whose
   * older revisions were compacted away; otherwise they follow from the generation.
   */
  put(rev: Revision, created?: number, version?: number): void {
    const g = this.generations[this.generations.length - 1]!;
    if (g.revs.length === 0) g.created = created ?? rev.main;
    g.ver = version ?? g.ver + 1;
    g.revs.push(rev);
  }

  /** Records a delete at `rev` and opens a new generation. The key must be live. */
  tombstone(rev: Revision): void {
    const g = this.generations[this.generations.length - 1]!;
    if (g.revs.length === 0) throw new Error(`tombstone of a deleted key ${this.key.toString('hex')}`);
    this.put(rev);
    this.generations.push({ ver: 0, created: 0, revs: [] });
  }

  /**
   * Restores a tombstone record. Its generation's puts may be gone: compaction keeps a
   * tombstone at exactly the compaction revision without them. It then stays alone in its
   * generation, as compact() leaves it, so a compaction re-run at open keeps it too, and one at
   * a later revision drops it.
   */
  restoreTombstone(rev: Revision): void {
    const g = this.generations[this.generations.length - 1]!;
    if (g.revs.length > 0) return this.tombstone(rev);
    g.revs.push(rev);
    this.generations.push({ ver: 0, created: 0, revs: [] });
  }

  /** The key as of revision `atRev`, or undefined when it did not exist then. */
  get(atRev: number): KeyAt | undefined {
    const gens = this.generations;
    for (let i = gens.length - 1; i >= 0; i--) {
      const g = gens[i]!;
      const n = g.revs.length;
      if (n === 0) continue;
      if (i < gens.length - 1 && g.revs[n - 1]!.main <= atRev) return undefined; // deleted by then
      if (g.revs[0]!.main > atRev) continue;
      // Binary search for the newest revision <= atRev.
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (g.revs[mid]!.main <= atRev) lo = mid;
        else hi = mid - 1;
      }
      return { mod: g.revs[lo]!, created: g.created, version: g.ver - (n - 1 - lo) };
    }
    return undefined;
  }

  /** True when the key has no revision left (after compaction of a deleted key). */
  isEmpty(): boolean {
    return this.generations.length === 1 && this.generations[0]!.revs.length === 0;
  }

  /** True when the key exists at the newest applied revision. */
  isLive(): boolean {
    return this.generations[this.generations.length - 1]!.revs.length > 0;
  }

  /**
   * Drops history a read at `atRev` or later can never need. Keeps, in the generation alive at
   * `atRev`, its newest revision <= atRev (added to `keep`) and everything after; generations
   * deleted before atRev go entirely, tombstone included. A tombstone at exactly atRev stays
   * (alone in its generation) so that history from the compaction revision on is complete and
   * a watcher may start there, as etcd allows, without missing that DELETE.
   */
  compact(atRev: number, keep: Set<string>): void {
    const gens = this.generations;
    let gi = 0;
    while (gi < gens.length - 1) {
      const g = gens[gi]!;
      if (g.revs[g.revs.length - 1]!.main >= atRev) break;
      gi++;
    }
    const g = gens[gi]!;
    for (let r = g.revs.length - 1; r >= 0; r--) {
      const rev = g.revs[r]!;
      if (rev.main <= atRev) {
        keep.add(revisionKey(rev.main, rev.sub));
        if (r > 0) g.revs = g.revs.slice(r);
        break;
      }
    }
    if (gi > 0) this.generations = gens.slice(gi);
  }

  /** Every revision still indexed, oldest first (for tests and invariant checks). */
  revisions(): Revision[] {
    return this.generations.flatMap((g) => g.revs);
  }
}
