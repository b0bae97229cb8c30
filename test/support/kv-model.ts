/**
 * A tiny reference model of etcd's MVCC semantics: the whole keyspace copied at every revision,
 * brute force everywhere. Slow and obviously right; the store must answer exactly like it.
 */
import type {
  Compare,
  Event,
  KeyValue,
  RangeRequest,
  RangeResult,
  RequestOp,
  ResponseOp,
  RevisionChanges,
  TxnRequest,
  TxnResult,
} from '../../src/mvcc/kv.ts';
import { checkTxnRequest } from '../../src/mvcc/txn-check.ts';

type State = Map<string, KeyValue>;
const EMPTY = Buffer.alloc(0);

export class ModelError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

function inRange(k: string, key: Buffer, end: Buffer | undefined): boolean {
  const s = key.toString('latin1');
  if (end === undefined || end.length === 0) return k === s;
  if (end.length === 1 && end[0] === 0) return k >= s;
  return k >= s && k < end.toString('latin1');
}

export class KvModel {
  rev = 1;
  compactRev = 0;
  private states: State[] = [new Map(), new Map()];
  private events = new Map<number, Event[]>();

  state(rev: number): State {
    return this.states[rev]!;
  }

  range(req: RangeRequest): RangeResult {
    const at = req.revision || this.rev;
    if (at > this.rev) throw new ModelError('ERR_FUTURE_REV');
    if (at < this.compactRev) throw new ModelError('ERR_COMPACTED');
    return this.rangeAt(this.states[at]!, req, this.rev);
  }

  private rangeAt(state: State, req: RangeRequest, headerRev: number): RangeResult {
    const keys = [...state.keys()].filter((k) => inRange(k, req.key, req.rangeEnd)).sort();
    const count = keys.length;
    if (req.countOnly) return { revision: headerRev, kvs: [], count, more: false };
    const limit = req.limit ?? 0;
    const filtered = Boolean(req.minModRevision || req.maxModRevision || req.minCreateRevision || req.maxCreateRevision);
    let order = req.sortOrder ?? 'NONE';
    const target = req.sortTarget ?? 'KEY';
    // etcd reads limit+1 keys in key order unless it must sort or filter everything.
    const taken = order !== 'NONE' || filtered || limit <= 0 ? keys : keys.slice(0, limit + 1);
    let kvs = taken.map((k) => state.get(k)!);
    kvs = kvs.filter(
      (kv) =>
        !(req.maxModRevision && kv.modRevision > req.maxModRevision) &&
        !(req.minModRevision && kv.modRevision < req.minModRevision) &&
        !(req.maxCreateRevision && kv.createRevision > req.maxCreateRevision) &&
        !(req.minCreateRevision && kv.createRevision < req.minCreateRevision),
    );
    if (target !== 'KEY' && order === 'NONE') order = 'ASCEND';
    if (order !== 'NONE') {
      const f = (kv: KeyValue): number | string =>
        target === 'KEY'
          ? kv.key.toString('latin1')
          : target === 'VALUE'
            ? kv.value.toString('latin1')
            : target === 'VERSION'
              ? kv.version
              : target === 'CREATE'
                ? kv.createRevision
                : kv.modRevision;
      const sign = order === 'DESCEND' ? -1 : 1;
      kvs = [...kvs].sort((a, b) => (f(a) < f(b) ? -sign : f(a) > f(b) ? sign : 0));
    }
    const more = limit > 0 && kvs.length > limit;
    if (more) kvs = kvs.slice(0, limit);
    if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
    return { revision: headerRev, kvs, count, more };
  }

  txn(req: TxnRequest): TxnResult {
    // Static validation is shared with the store (txn-check.ts has its own fixture tests).
    try {
      checkTxnRequest(req, { maxTxnOps: 128, maxRequestBytes: 1.5 * 1024 * 1024 });
    } catch (err) {
      throw new ModelError((err as { code: string }).code);
    }
    const before = this.states[this.rev]!;
    const work: State = new Map(before);
    const events: Event[] = [];
    const newRev = this.rev + 1;
    const view = () => (events.length > 0 ? newRev : this.rev);
    const cmp = (c: Compare): boolean => {
      const kvs = [...before.entries()].filter(([k]) => inRange(k, c.key, c.rangeEnd)).map(([, v]) => v);
      const one = (kv: KeyValue | undefined): boolean => {
        const a =
          c.target === 'VALUE'
            ? Buffer.compare(kv?.value ?? EMPTY, c.value ?? EMPTY)
            : c.target === 'LEASE'
              ? Number((kv?.lease ?? 0n) - (c.lease ?? 0n))
              : c.target === 'VERSION'
                ? (kv?.version ?? 0) - (c.version ?? 0)
                : c.target === 'CREATE'
                  ? (kv?.createRevision ?? 0) - (c.createRevision ?? 0)
                  : (kv?.modRevision ?? 0) - (c.modRevision ?? 0);
        return c.result === 'EQUAL' ? a === 0 : c.result === 'NOT_EQUAL' ? a !== 0 : c.result === 'GREATER' ? a > 0 : a < 0;
      };
      if (kvs.length === 0) return c.target !== 'VALUE' && one(undefined);
      return kvs.every(one);
    };
    // Decide every branch first (compares see the state before the txn), then check — every put
    // on the chosen path before any range, as etcd's applyTxn — then run.
    const chosen = new Map<TxnRequest, boolean>();
    const decide = (t: TxnRequest): void => {
      const ok = t.compare.every(cmp);
      chosen.set(t, ok);
      for (const op of ok ? t.success : t.failure) if ('txn' in op) decide(op.txn);
    };
    const checkOps = (t: TxnRequest, kind: 'put' | 'range'): void => {
      for (const op of chosen.get(t) ? t.success : t.failure) {
        if ('txn' in op) checkOps(op.txn, kind);
        if (kind === 'put' && 'put' in op && (op.put.ignoreValue || op.put.ignoreLease) && !before.has(op.put.key.toString('latin1'))) {
          throw new ModelError('ERR_KEY_NOT_FOUND');
        }
        if (kind === 'range' && 'range' in op && (op.range.revision ?? 0) > this.rev) throw new ModelError('ERR_FUTURE_REV');
        if (kind === 'range' && 'range' in op && op.range.revision && op.range.revision < this.compactRev) throw new ModelError('ERR_COMPACTED');
      }
    };
    decide(req);
    checkOps(req, 'put');
    checkOps(req, 'range');
    const runOps = (t: TxnRequest): TxnResult => {
      const ok = chosen.get(t)!;
      const responses: ResponseOp[] = (ok ? t.success : t.failure).map((op: RequestOp): ResponseOp => {
        if ('range' in op) {
          const at = op.range.revision;
          const st = at ? this.states[at]! : work;
          return { range: this.rangeAt(st, op.range, view()) };
        }
        if ('put' in op) {
          const k = op.put.key.toString('latin1');
          const prev = work.get(k);
          const kv: KeyValue = {
            key: Buffer.from(op.put.key),
            createRevision: prev ? prev.createRevision : newRev,
            modRevision: newRev,
            version: prev ? prev.version + 1 : 1,
            value: op.put.ignoreValue ? prev!.value : op.put.value,
            lease: op.put.ignoreLease ? prev!.lease : (op.put.lease ?? 0n),
          };
          work.set(k, kv);
          events.push(prev ? { type: 'PUT', kv, prevKv: prev } : { type: 'PUT', kv });
          return { put: op.put.prevKv && prev ? { revision: newRev, prevKv: prev } : { revision: newRev } };
        }
        if ('deleteRange' in op) {
          const r = op.deleteRange;
          const keys = [...work.keys()].filter((k) => inRange(k, r.key, r.rangeEnd)).sort();
          const prevKvs: KeyValue[] = [];
          for (const k of keys) {
            const prev = work.get(k)!;
            work.delete(k);
            // An event's prev_kv is the key at revision-1: before this txn, not after its put.
            const before_ = before.get(k);
            events.push({
              type: 'DELETE',
              kv: { key: prev.key, createRevision: 0, modRevision: newRev, version: 0, value: EMPTY, lease: 0n },
              ...(before_ ? { prevKv: before_ } : {}),
            });
            if (r.prevKv) prevKvs.push(prev);
          }
          return { deleteRange: { revision: view(), deleted: keys.length, prevKvs } };
        }
        return { txn: runOps(op.txn) };
      });
      return { revision: view(), succeeded: ok, responses };
    };
    const result = runOps(req);
    if (events.length > 0) {
      this.rev = newRev;
      this.states[newRev] = work;
      this.events.set(newRev, events);
    }
    return result;
  }

  private compactedOnce = false;

  compact(rev: number): void {
    if (rev < this.compactRev || (rev === this.compactRev && this.compactedOnce)) throw new ModelError('ERR_COMPACTED');
    if (rev > this.rev) throw new ModelError('ERR_FUTURE_REV');
    this.compactRev = rev;
    this.compactedOnce = true;
  }

  history(from: number, to: number, withPrevKv: boolean): RevisionChanges[] {
    if (from < this.compactRev) throw new ModelError('ERR_COMPACTED');
    const out: RevisionChanges[] = [];
    for (let r = from; r <= Math.min(to, this.rev); r++) {
      const evs = this.events.get(r);
      if (!evs) continue;
      out.push({
        revision: r,
        // The value at r-1 is gone when r-1 is below the compaction revision.
        events: evs.map((e) => (withPrevKv && e.prevKv && r - 1 >= this.compactRev ? e : { type: e.type, kv: e.kv })),
      });
    }
    return out;
  }
}
