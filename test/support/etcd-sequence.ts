/**
 * Seeded random operation sequences for the differential test against a real etcd 3.4. Every
 * sequence lives under its own zero-padded prefix (`/d0042/`), and sequences run in ascending
 * order, so even a from-key range (range_end "\0") only reaches keys of its own sequence: the
 * later prefixes, which sort above it, have not been written yet.
 *
 * Ops are JSON gateway bodies, built lazily from the revisions seen so far (historical reads,
 * min/max revision filters, compaction targets and watch start revisions are drawn from them).
 */
import type { Rng } from './rng.ts';
import { b64 } from './http-client.ts';

export type Op =
  | { kind: 'unary'; path: string; body: any }
  | { kind: 'watch'; create: any }
  | { kind: 'cancel'; watchIndex: number };

/** What the runner tells the generator about the revisions this sequence has seen. */
export interface SeqState {
  /** Revision before the sequence's first op. */
  startRev: number;
  /** Header revisions of the replies so far (ascending). */
  revs: number[];
  current: number;
  /** Watches created so far in this sequence. */
  watches: number;
}

export const FROM_KEY = b64('\0');

/** The smallest key above every key with prefix `p` (etcd's clientv3.GetPrefixRangeEnd). */
export function prefixEnd(p: string): string {
  const b = Buffer.from(p, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const out = b.subarray(0, i + 1);
      out[i]! += 1;
      return out.toString('base64');
    }
  }
  return FROM_KEY;
}

export class SequenceGen {
  readonly prefix: string;
  private readonly keys: string[];

  constructor(
    private readonly rng: Rng,
    index: number,
  ) {
    this.prefix = `/d${String(index).padStart(5, '0')}/`;
    this.keys = ['a', 'b', 'c', 'a/1', 'a/2', 'b/x'].map((k) => this.prefix + k);
  }

  private key(): string {
    return this.rng.pick(this.keys);
  }

  /** key + optional range_end: single key, prefix, explicit interval, from-key, or an empty interval. */
  private range(allowEmpty: boolean, fromKey = true): { key: string; range_end?: string } {
    const r = this.rng;
    const k = this.key();
    let c = r.int(0, allowEmpty ? 5 : 4);
    if (c === 4 && !fromKey) c = 2;
    switch (c) {
      case 0:
      case 1:
        return { key: b64(k) };
      case 2:
        return { key: b64(r.chance(0.5) ? this.prefix : k), range_end: prefixEnd(r.chance(0.5) ? this.prefix : k) };
      case 3: {
        const [lo, hi] = [k, this.key()].sort();
        return { key: b64(lo!), range_end: b64(hi!) }; // may be empty when lo == hi
      }
      case 4:
        return { key: b64(k), range_end: FROM_KEY };
      default:
        return { key: b64(this.prefix + 'c'), range_end: b64(this.prefix + 'a') }; // inverted: empty
    }
  }

  private value(): string {
    const r = this.rng;
    return b64(r.chance(0.1) ? '' : `v${r.int(0, 30)}`);
  }

  /** A revision to read at or filter by: mostly seen ones, sometimes edges and futures. */
  private rev(s: SeqState): number {
    const r = this.rng;
    const c = r.int(0, 9);
    if (c <= 5 && s.revs.length > 0) return r.pick(s.revs);
    if (c === 6) return s.startRev;
    if (c === 7) return s.current + r.int(1, 3);
    if (c === 8) return Math.max(1, s.startRev - r.int(0, 5));
    return s.current;
  }

  put(): any {
    const r = this.rng;
    const body: any = { key: b64(this.key()), value: this.value() };
    if (r.chance(0.4)) body.prev_kv = true;
    if (r.chance(0.05)) body.ignore_value = true;
    return body;
  }

  rangeReq(s: SeqState): any {
    const r = this.rng;
    const body: any = this.range(true);
    if (r.chance(0.3)) body.limit = r.int(1, 4);
    if (r.chance(0.3)) body.sort_order = r.pick(['NONE', 'ASCEND', 'DESCEND', 1, 2]);
    if (r.chance(0.3)) body.sort_target = r.pick(['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE', 3]);
    if (r.chance(0.15)) body.keys_only = true;
    if (r.chance(0.1)) body.count_only = true;
    if (r.chance(0.25)) body.revision = this.rev(s);
    if (r.chance(0.1)) body.min_mod_revision = this.rev(s);
    if (r.chance(0.1)) body.max_mod_revision = this.rev(s);
    if (r.chance(0.1)) body.min_create_revision = this.rev(s);
    if (r.chance(0.1)) body.max_create_revision = this.rev(s);
    if (r.chance(0.05)) body.serializable = true;
    return body;
  }

  /** `fromKey` false mostly avoids known difference #1 (see the differential test) inside txns. */
  deleteReq(fromKey = true): any {
    const body: any = this.range(true, fromKey);
    if (this.rng.chance(0.5)) body.prev_kv = true;
    return body;
  }

  private compare(s: SeqState): any {
    const r = this.rng;
    const target = r.pick(['VERSION', 'CREATE', 'MOD', 'VALUE']);
    const cmp: any = { key: b64(this.key()), target, result: r.pick(['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL']) };
    if (r.chance(0.2)) cmp.range_end = prefixEnd(this.prefix);
    if (target === 'VERSION') cmp.version = r.int(0, 3);
    else if (target === 'CREATE') cmp.create_revision = r.chance(0.3) ? 0 : this.rev(s);
    else if (target === 'MOD') cmp.mod_revision = r.chance(0.3) ? 0 : this.rev(s);
    else cmp.value = this.value();
    return cmp;
  }

  private txnOps(s: SeqState, depth: number): any[] {
    const r = this.rng;
    const ops: any[] = [];
    const n = r.int(0, 3);
    for (let i = 0; i < n; i++) {
      const c = r.int(0, depth > 0 ? 3 : 2);
      if (c === 0) ops.push({ request_put: this.put() });
      else if (c === 1) ops.push({ request_range: this.rangeReq(s) });
      else if (c === 2) ops.push({ request_delete_range: this.deleteReq(r.chance(0.2)) });
      else ops.push({ request_txn: this.txnReq(s, depth - 1) });
    }
    return ops;
  }

  txnReq(s: SeqState, depth = 1): any {
    const r = this.rng;
    const compare = Array.from({ length: r.int(0, 2) }, () => this.compare(s));
    return { compare, success: this.txnOps(s, depth), failure: this.txnOps(s, depth) };
  }

  watchCreate(s: SeqState): any {
    const r = this.rng;
    const create: any = this.range(false);
    if (r.chance(0.5)) create.start_revision = r.chance(0.8) && s.revs.length > 0 ? r.pick(s.revs) : Math.max(1, s.startRev - 2);
    if (r.chance(0.4)) create.prev_kv = true;
    if (r.chance(0.25)) create.filters = r.pick([['NOPUT'], ['NODELETE'], [1]]);
    if (r.chance(0.2)) create.progress_notify = true;
    if (r.chance(0.2)) create.fragment = true;
    if (r.chance(0.3)) create.watch_id = 100 + s.watches;
    return create;
  }

  next(s: SeqState): Op {
    const r = this.rng;
    const c = r.int(0, 99);
    if (c < 32) return { kind: 'unary', path: '/v3/kv/put', body: this.put() };
    if (c < 52) return { kind: 'unary', path: '/v3/kv/range', body: this.rangeReq(s) };
    if (c < 62) return { kind: 'unary', path: '/v3/kv/deleterange', body: this.deleteReq() };
    if (c < 84) return { kind: 'unary', path: '/v3/kv/txn', body: this.txnReq(s, 2) };
    if (c < 88) {
      const body: any = { revision: r.chance(0.8) ? this.rev(s) : s.current };
      if (r.chance(0.5)) body.physical = true;
      return { kind: 'unary', path: '/v3/kv/compaction', body };
    }
    if (c < 96 && s.watches < 2) return { kind: 'watch', create: this.watchCreate(s) };
    if (s.watches > 0 && r.chance(0.5)) return { kind: 'cancel', watchIndex: r.int(0, s.watches - 1) };
    return { kind: 'unary', path: '/v3/kv/put', body: this.put() };
  }
}
