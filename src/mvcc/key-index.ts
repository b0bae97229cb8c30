import type { KeyValue } from './kv.ts';
import { decodeRecordValue, RECORD_HEADER_BYTES, RECORD_LEASE_OFFSET } from './kv-codec.ts';
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
 *
 * Memory layout: a million keys live in the index, so every byte per key counts. All
 * generations sit in one flat array of small integers (V8 stores it unboxed, with no object per
 * revision or generation):
 *
 *   gens = [created, ver, n, main_0, sub_0, ..., main_n-1, sub_n-1,   created, ver, n, ...]
 *           `------------------ one generation --------------------'
 *
 * `ver` is the key's version at the generation's newest revision (the tombstone counts, as
 * etcd); `created` its create revision, carried explicitly so compaction can drop revisions.
 * `tail` is the offset of the last generation's header.
 */
const HEADER = 3;

/** What a key looked like at some revision. */
export interface KeyAt {
  mod: Revision;
  created: number;
  version: number;
}

/** A generation in its plain form, for checkpoints and tests. */
export interface GenerationView {
  created: number;
  ver: number;
  revs: Revision[];
}

export class KeyIndex {
  /**
   * The key is bytes [kstart, kend) of kbuf: its own copy for a key created by a write, else a
   * stretch of the buffer it was restored from (a record, or the checkpoint), which saves a
   * Buffer object per key. When `latest` is still packed, its record starts right before the
   * key, at kstart - RECORD_HEADER_BYTES, and ends at packedEnd (-1 = not packed).
   */
  private kbuf: Buffer;
  private kstart: number;
  private kend: number;
  private gens: number[] = [0, 0, 0];
  private tail = 0;
  /** The newest kv once decoded or written; see `latest`. Invariant: unset while packed. */
  private kv: KeyValue | undefined;
  private packedEnd = -1;

  constructor(key: Buffer, start = 0, end = key.length) {
    this.kbuf = key;
    this.kstart = start;
    this.kend = end;
  }

  /** The key's bytes (a view: do not modify). */
  get key(): Buffer {
    const b = this.kbuf;
    return this.kstart === 0 && this.kend === b.length ? b : b.subarray(this.kstart, this.kend);
  }

  /** Orders keys bytewise: `this` against `other` (a KeyIndex or plain key bytes). */
  compare(other: KeyIndex | Buffer): number {
    if (other instanceof KeyIndex) return compareBytes(this.kbuf, this.kstart, this.kend, other.kbuf, other.kstart, other.kend);
    return compareBytes(this.kbuf, this.kstart, this.kend, other, 0, other.length);
  }

  /**
   * The key's newest kv as applied in memory, or undefined while the key is deleted. Serves
   * reads at the newest revision without a backend read; readers at an older revision check
   * `latest.modRevision` before trusting it.
   */
  get latest(): KeyValue | undefined {
    if (this.packedEnd >= 0) {
      const record = this.kbuf.subarray(this.kstart - RECORD_HEADER_BYTES, this.packedEnd);
      const { kv } = decodeRecordValue(this.lastMain(), 0, record);
      this.kv = { key: this.key, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, value: kv.value, lease: kv.lease };
      this.packedEnd = -1;
    }
    return this.kv;
  }

  /**
   * The newest kv's lease (0n while deleted), read from the packed record without decoding it:
   * the lessor asks every key at open, and that must not unpack a million kvs.
   */
  latestLease(): bigint {
    if (this.packedEnd < 0) return this.kv?.lease ?? 0n;
    const at = this.kstart - RECORD_HEADER_BYTES + RECORD_LEASE_OFFSET;
    const b = this.kbuf;
    if (b.readUInt32BE(at) === 0 && b.readUInt32BE(at + 4) === 0) return 0n;
    return b.readBigInt64BE(at);
  }

  set latest(kv: KeyValue | undefined) {
    this.kv = kv;
    this.packedEnd = -1;
  }

  /**
   * Sets the newest kv from its encoded put record (kv-codec's record value, of this key at its
   * newest revision): bytes [at, end) of `buf`, decoded only when first read. The key is
   * re-pointed into the record, so an older buffer holding it can be freed. The bytes must not
   * change afterwards.
   */
  setPackedLatest(buf: Buffer, at: number, end: number): void {
    const length = this.kend - this.kstart;
    this.kv = undefined;
    this.kbuf = buf;
    this.kstart = at + RECORD_HEADER_BYTES;
    this.kend = this.kstart + length;
    this.packedEnd = end;
  }

  /**
   * Copies the packed record of the newest kv into `out` at `at` and returns its length, or
   * returns -1 when it is not packed (checkpoints copy it as is; `out` must have room).
   */
  copyPackedLatest(out: Buffer, at: number): number {
    if (this.packedEnd < 0) return -1;
    const src = this.kbuf;
    const from = this.kstart - RECORD_HEADER_BYTES;
    const n = this.packedEnd - from;
    if (n > 256) return src.copy(out, at, from, this.packedEnd);
    for (let i = 0; i < n; i++) out[at + i] = src[from + i]!; // cheaper than copy()'s checks for small records
    return n;
  }

  /** Bytes of the packed record of the newest kv, 0 when it is not packed. */
  packedLength(): number {
    return this.packedEnd < 0 ? 0 : this.packedEnd - this.kstart + RECORD_HEADER_BYTES;
  }

  /**
   * Records a put at `rev`. `created` / `version` are given when restoring from records whose
   * older revisions were compacted away; otherwise they follow from the generation.
   */
  put(rev: Revision, created?: number, version?: number): void {
    const g = this.gens;
    const t = this.tail;
    if (g[t + 2] === 0) g[t] = created ?? rev.main;
    g[t + 1] = version ?? g[t + 1]! + 1;
    g[t + 2]!++;
    g.push(rev.main, rev.sub);
  }

  /** Records a delete at `rev` and opens a new generation. The key must be live. */
  tombstone(rev: Revision): void {
    if (this.gens[this.tail + 2] === 0) throw new Error(`tombstone of a deleted key ${this.key.toString('hex')}`);
    this.put(rev);
    this.openGeneration();
  }

  /**
   * Restores a tombstone record. Its generation's puts may be gone: compaction keeps a
   * tombstone at exactly the compaction revision without them. It then stays alone in its
   * generation, as compact() leaves it, so a compaction re-run at open keeps it too, and one at
   * a later revision drops it.
   */
  restoreTombstone(rev: Revision): void {
    const g = this.gens;
    if (g[this.tail + 2]! > 0) return this.tombstone(rev);
    g[this.tail + 2] = 1;
    g.push(rev.main, rev.sub);
    this.openGeneration();
  }

  private openGeneration(): void {
    this.tail = this.gens.length;
    this.gens.push(0, 0, 0);
    this.latest = undefined;
  }

  /** The key as of revision `atRev`, or undefined when it did not exist then. */
  get(atRev: number): KeyAt | undefined {
    const g = this.gens;
    // The generation that matters is the last one that started at or before atRev.
    let found = -1;
    for (let o = 0; o < g.length; o += HEADER + 2 * g[o + 2]!) {
      if (g[o + 2] === 0 || g[o + HEADER]! > atRev) break;
      found = o;
    }
    if (found < 0) return undefined;
    const n = g[found + 2]!;
    const first = found + HEADER;
    if (found !== this.tail && g[first + 2 * (n - 1)]! <= atRev) return undefined; // deleted by then
    // Binary search for the newest revision <= atRev.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (g[first + 2 * mid]! <= atRev) lo = mid;
      else hi = mid - 1;
    }
    return {
      mod: { main: g[first + 2 * lo]!, sub: g[first + 2 * lo + 1]! },
      created: g[found]!,
      version: g[found + 1]! - (n - 1 - lo),
    };
  }

  /** True when the key has no revision left (after compaction of a deleted key). */
  isEmpty(): boolean {
    return this.tail === 0 && this.gens[2] === 0;
  }

  /** True when the key exists at the newest applied revision. */
  isLive(): boolean {
    return this.gens[this.tail + 2]! > 0;
  }

  /** Main revision of the newest revision of the live generation (the key must be live). */
  private lastMain(): number {
    return this.gens[this.gens.length - 2]!;
  }

  /**
   * Drops history a read at `atRev` or later can never need. Keeps, in the generation alive at
   * `atRev`, its newest revision <= atRev (added to `keep`) and everything after; generations
   * deleted before atRev go entirely, tombstone included. A tombstone at exactly atRev stays
   * (alone in its generation) so that history from the compaction revision on is complete and
   * a watcher may start there, as etcd allows, without missing that DELETE.
   */
  compact(atRev: number, keep: Set<string>): void {
    const g = this.gens;
    let o = 0;
    while (o < this.tail) {
      const n = g[o + 2]!;
      if (g[o + HEADER + 2 * (n - 1)]! >= atRev) break;
      o += HEADER + 2 * n;
    }
    const n = g[o + 2]!;
    let drop = 0; // revisions to drop at the front of generation o
    for (let r = n - 1; r >= 0; r--) {
      const main = g[o + HEADER + 2 * r]!;
      if (main <= atRev) {
        keep.add(revisionKey(main, g[o + HEADER + 2 * r + 1]!));
        drop = r;
        break;
      }
    }
    if (o === 0 && drop === 0) return;
    // A generation left with only its tombstone answers no read: its created / ver are zeroed,
    // as a restore from the records (which keep only the tombstone) sees them.
    const loneTombstone = o !== this.tail && n - drop === 1;
    const next = loneTombstone ? [0, 0, 1] : [g[o]!, g[o + 1]!, n - drop];
    for (let i = o + HEADER + 2 * drop; i < g.length; i++) next.push(g[i]!);
    this.tail = this.tail === o ? 0 : this.tail - o - 2 * drop;
    this.gens = next;
  }

  /** The generations, oldest first (checkpoints, tests and invariant checks). */
  generations(): GenerationView[] {
    const out: GenerationView[] = [];
    const g = this.gens;
    for (let o = 0; o < g.length; o += HEADER + 2 * g[o + 2]!) {
      const revs: Revision[] = [];
      for (let r = 0; r < g[o + 2]!; r++) revs.push({ main: g[o + HEADER + 2 * r]!, sub: g[o + HEADER + 2 * r + 1]! });
      out.push({ created: g[o]!, ver: g[o + 1]!, revs });
    }
    return out;
  }

  /** Drops the spare capacity `push` leaves in the generation array (after a bulk restore). */
  trim(): void {
    this.gens = this.gens.slice();
  }

  /** The flat generation array (read-only; the checkpoint writer encodes it as is). */
  rawGenerations(): readonly number[] {
    return this.gens;
  }

  /**
   * A key index from a flat generation array (a checkpoint's), trusted only after
   * `checkGenerations` accepted it: the caller hands over the array.
   */
  static fromRaw(buf: Buffer, start: number, end: number, gens: number[]): KeyIndex {
    const ki = new KeyIndex(buf, start, end);
    ki.gens = gens;
    let o = 0;
    while (o + HEADER + 2 * gens[o + 2]! < gens.length) o += HEADER + 2 * gens[o + 2]!;
    ki.tail = o;
    return ki;
  }

  /** Every revision still indexed, oldest first (for tests and invariant checks). */
  revisions(): Revision[] {
    return this.generations().flatMap((g) => g.revs);
  }
}

/**
 * Checks that a flat generation array obeys the invariants above (checkpoint input is not
 * trusted): well-formed headers, only the last generation empty, revisions strictly growing.
 */
export function checkGenerations(g: readonly number[]): boolean {
  let o = 0;
  let prevMain = -1;
  let prevSub = -1;
  for (;;) {
    if (o + HEADER > g.length) return false;
    const n = g[o + 2]!;
    const end = o + HEADER + 2 * n;
    if (end > g.length) return false;
    if (n === 0) return end === g.length; // only the last generation may be empty
    for (let i = o + HEADER; i < end; i += 2) {
      const main = g[i]!;
      const sub = g[i + 1]!;
      if (main < prevMain || (main === prevMain && sub <= prevSub)) return false;
      prevMain = main;
      prevSub = sub;
    }
    o = end;
    if (o === g.length) return true; // ends with a live generation
  }
}

/**
 * Bytewise order of a[as, ae) and b[bs, be). A loop in JS: keys are short, and for them a native
 * Buffer#compare call (argument checks, then C++) costs more than the comparison.
 */
function compareBytes(a: Buffer, as: number, ae: number, b: Buffer, bs: number, be: number): number {
  const la = ae - as;
  const lb = be - bs;
  if (la > 64 && lb > 64) return a.compare(b, bs, be, as, ae);
  const n = la < lb ? la : lb;
  for (let i = 0; i < n; i++) {
    const d = a[as + i]! - b[bs + i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return la === lb ? 0 : la < lb ? -1 : 1;
}
