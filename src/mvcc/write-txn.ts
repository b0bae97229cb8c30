import type { BatchOp } from '../backend/backend.ts';
import { kvError } from '../errors.ts';
import { ownedCopy } from '../lib/owned-bytes.ts';
import { deletedKv, encodeRecord, recordKey } from './kv-codec.ts';
import type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResult,
  Event,
  KeyValue,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResult,
} from './kv.ts';
import type { KeyIndex } from './key-index.ts';
import type { LeaseHook, LeaseMove } from './lease-hook.ts';
import { rangeQuery, type ValueSource } from './range-query.ts';
import { normaliseEnd } from './key-range.ts';
import { firstReadableRevision, revisionKey } from './revision.ts';

/** What a write transaction borrows from the store. */
export interface TxnHost extends ValueSource {
  compactRevision(): number;
}

/**
 * One write transaction against the newest applied state. It mutates the in-memory index as it
 * goes and gathers the backend records and events; the store makes them durable and publishes
 * them. Everything that can fail is checked before the first mutation (`prepare`), so a txn
 * either applies whole or not at all.
 *
 * Views: compares and pre-checks see the state before the txn (`beginRev`); each op sees the
 * ops before it, at revision beginRev+1 once the txn has changed something (as etcd's txn).
 */
export class WriteTxn {
  readonly events: Event[] = [];
  readonly ops: BatchOp[] = [];
  /** Kvs written, by "main.sub", for reads of revisions not yet on disk. */
  readonly written: Array<[string, KeyValue]> = [];
  /** Keys whose lease changed, in op order; the store hands them to the lease hook on apply. */
  readonly leaseMoves: LeaseMove[] = [];
  private readonly outcomes = new Map<TxnRequest, boolean>();
  /** For each key this txn put: its kv before the txn (undefined if it did not exist). */
  private readonly putPrev = new Map<KeyIndex, KeyValue | undefined>();

  constructor(
    private readonly host: TxnHost,
    readonly beginRev: number,
    private readonly leases?: LeaseHook,
  ) {}

  /** The txn's revision as a view: beginRev, or beginRev+1 once it changed something. */
  get rev(): number {
    return this.events.length > 0 ? this.beginRev + 1 : this.beginRev;
  }

  /**
   * Evaluates every compare on the chosen path, then checks its ops; throws before any change.
   * The order of the checks is etcd's (applyTxn): every put on the path first, then every
   * range — so a put's "key not found" wins over an earlier range's "future revision".
   */
  prepare(req: TxnRequest): void {
    this.decide(req);
    this.checkOps(req, 'put');
    this.checkOps(req, 'range');
  }

  private decide(req: TxnRequest): void {
    const ok = req.compare.every((c) => this.compare(c));
    this.outcomes.set(req, ok);
    for (const op of ok ? req.success : req.failure) if ('txn' in op) this.decide(op.txn);
  }

  private checkOps(req: TxnRequest, kind: 'put' | 'range'): void {
    for (const op of this.outcomes.get(req) ? req.success : req.failure) {
      if ('txn' in op) this.checkOps(op.txn, kind);
      else if (kind === 'range' && 'range' in op) this.checkRevision(op.range.revision ?? 0);
      else if (kind === 'put' && 'put' in op) {
        // etcd's checkRequestPut order: a missing key for ignore_*, then an unknown lease.
        if ((op.put.ignoreValue || op.put.ignoreLease) && !this.host.index.lookup(op.put.key)?.latest) throw kvError('ERR_KEY_NOT_FOUND');
        this.checkLease(op.put.lease);
      }
    }
  }

  async run(req: TxnRequest): Promise<TxnResult> {
    const succeeded = this.outcomes.get(req);
    if (succeeded === undefined) throw new Error('txn run before prepare');
    const responses: ResponseOp[] = [];
    for (const op of succeeded ? req.success : req.failure) responses.push(await this.runOp(op));
    return { revision: this.rev, succeeded, responses };
  }

  private async runOp(op: RequestOp): Promise<ResponseOp> {
    if ('range' in op) return { range: await this.range(op.range) };
    if ('put' in op) return { put: this.put(op.put) };
    if ('deleteRange' in op) return { deleteRange: this.deleteRange(op.deleteRange) };
    return { txn: await this.run(op.txn) };
  }

  /**
   * etcd's checkRequestRange: a revision below the first readable one (revision.ts) is
   * compacted; a negative one that passes reads the current revision (a top-level range reads
   * the current revision for every revision <= 0).
   */
  checkRevision(revision: number): void {
    if (revision === 0) return;
    if (revision > this.beginRev) throw kvError('ERR_FUTURE_REV');
    if (revision < firstReadableRevision(this.host.compactRevision())) throw kvError('ERR_COMPACTED');
  }

  range(req: RangeRequest): Promise<RangeResult> {
    const view = this.rev;
    // A revision <= 0 (negative included) reads the txn's own view, as etcd.
    return rangeQuery(this.host, req, req.revision !== undefined && req.revision > 0 ? req.revision : view, view);
  }

  /** An unknown lease fails the write before any change (no lessor: leases are not checked). */
  checkLease(lease: bigint | undefined): void {
    if (lease && this.leases && !this.leases.leaseExists(lease)) throw kvError('ERR_LEASE_NOT_FOUND');
  }

  put(req: PutRequest): PutResult {
    // A standalone put checks the lease before the key (etcd's applyPut order).
    this.checkLease(req.lease);
    const ki = this.host.index.lookupOrCreate(req.key);
    const prev = ki.latest;
    if ((req.ignoreValue || req.ignoreLease) && !prev) throw kvError('ERR_KEY_NOT_FOUND');
    const rev = this.beginRev + 1;
    const sub = this.events.length;
    const kv: KeyValue = {
      key: ki.key,
      createRevision: prev ? prev.createRevision : rev,
      modRevision: rev,
      version: prev ? prev.version + 1 : 1,
      // Kept by the index and the watch history: must not pin the request's pooled memory.
      value: req.ignoreValue ? prev!.value : ownedCopy(req.value),
      lease: req.ignoreLease ? prev!.lease : (req.lease ?? 0n),
    };
    ki.put({ main: rev, sub });
    ki.latest = kv;
    const from = prev?.lease ?? 0n;
    if (from !== kv.lease) this.leaseMoves.push({ key: ki.key, from, to: kv.lease });
    this.putPrev.set(ki, prev);
    this.events.push(prev ? { type: 'PUT', kv, prevKv: prev } : { type: 'PUT', kv });
    this.ops.push({ type: 'put', key: recordKey(rev, sub), value: encodeRecord(kv, false) });
    this.written.push([revisionKey(rev, sub), kv]);
    return req.prevKv && prev ? { revision: rev, prevKv: prev } : { revision: rev };
  }

  deleteRange(req: DeleteRangeRequest): DeleteRangeResult {
    const live: KeyIndex[] = [];
    this.host.index.keysIn(req.key, normaliseEnd(req.rangeEnd), (ki) => {
      if (ki.latest) live.push(ki);
    });
    const rev = this.beginRev + 1;
    const prevKvs: KeyValue[] = [];
    for (const ki of live) {
      const prev = ki.latest!;
      const sub = this.events.length;
      const kv = deletedKv(ki.key, rev);
      ki.tombstone({ main: rev, sub });
      ki.latest = undefined;
      if (prev.lease !== 0n) this.leaseMoves.push({ key: ki.key, from: prev.lease, to: 0n });
      // The event's prev_kv is the key at revision-1. A put earlier in this same txn (allowed
      // before a delete in a later nested txn) is not that: use what the txn started from.
      const before = prev.modRevision === rev ? this.putPrev.get(ki) : prev;
      this.events.push(before ? { type: 'DELETE', kv, prevKv: before } : { type: 'DELETE', kv });
      this.ops.push({ type: 'put', key: recordKey(rev, sub), value: encodeRecord(kv, true) });
      if (req.prevKv) prevKvs.push(prev);
    }
    return { revision: this.rev, deleted: live.length, prevKvs };
  }

  /** etcd's compare: every key in range must satisfy it; no key → a zero kv (VALUE fails). */
  private compare(c: Compare): boolean {
    const kvs: KeyValue[] = [];
    this.host.index.keysIn(c.key, normaliseEnd(c.rangeEnd), (ki) => {
      if (ki.latest) kvs.push(ki.latest);
    });
    if (kvs.length === 0) {
      if (c.target === 'VALUE') return false;
      return compareOne(c, undefined);
    }
    return kvs.every((kv) => compareOne(c, kv));
  }
}

function compareOne(c: Compare, kv: KeyValue | undefined): boolean {
  let d: number;
  switch (c.target) {
    case 'VERSION':
      d = (kv?.version ?? 0) - (c.version ?? 0);
      break;
    case 'CREATE':
      d = (kv?.createRevision ?? 0) - (c.createRevision ?? 0);
      break;
    case 'MOD':
      d = (kv?.modRevision ?? 0) - (c.modRevision ?? 0);
      break;
    case 'VALUE':
      d = Buffer.compare(kv?.value ?? EMPTY, c.value ?? EMPTY);
      break;
    case 'LEASE': {
      const a = kv?.lease ?? 0n;
      const b = c.lease ?? 0n;
      d = a === b ? 0 : a > b ? 1 : -1;
      break;
    }
  }
  switch (c.result) {
    case 'EQUAL':
      return d === 0;
    case 'NOT_EQUAL':
      return d !== 0;
    case 'GREATER':
      return d > 0;
    case 'LESS':
      return d < 0;
  }
}

const EMPTY = Buffer.alloc(0);
