/**
 * The store's request and result types (mvcc/kv.ts) ↔ etcd's gRPC messages as proto-loader
 * gives them (etcd-client.ts). Revisions travel as decimal strings and come back as numbers
 * (etcd revisions stay far below 2^53); lease ids as bigint.
 */
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
} from '../mvcc/kv.ts';
import type { EtcdMsg } from './etcd-client.ts';

const EMPTY = Buffer.alloc(0);
const num = (v: unknown): number => (v === undefined || v === null || v === '' ? 0 : Number(v));

export function kvFrom(m: EtcdMsg): KeyValue {
  return {
    key: m.key ?? EMPTY,
    createRevision: num(m.create_revision),
    modRevision: num(m.mod_revision),
    version: num(m.version),
    value: m.value ?? EMPTY,
    lease: BigInt(m.lease ?? 0),
  };
}

export function eventFrom(m: EtcdMsg): Event {
  return { type: m.type === 'DELETE' ? 'DELETE' : 'PUT', kv: kvFrom(m.kv), prevKv: m.prev_kv ? kvFrom(m.prev_kv) : undefined };
}

/** The revision of a response header. */
export const headerRevision = (m: EtcdMsg): number => num(m?.header?.revision);

export function rangeTo(r: RangeRequest): EtcdMsg {
  return {
    key: r.key,
    range_end: r.rangeEnd,
    limit: String(r.limit ?? 0),
    revision: String(r.revision ?? 0),
    sort_order: r.sortOrder ?? 'NONE',
    sort_target: r.sortTarget ?? 'KEY',
    serializable: r.serializable === true,
    keys_only: r.keysOnly === true,
    count_only: r.countOnly === true,
    min_mod_revision: String(r.minModRevision ?? 0),
    max_mod_revision: String(r.maxModRevision ?? 0),
    min_create_revision: String(r.minCreateRevision ?? 0),
    max_create_revision: String(r.maxCreateRevision ?? 0),
  };
}

export function rangeFrom(m: EtcdMsg): RangeResult {
  return { revision: headerRevision(m), kvs: (m.kvs ?? []).map(kvFrom), count: num(m.count), more: m.more === true };
}

export function putTo(r: PutRequest): EtcdMsg {
  return { key: r.key, value: r.value, lease: String(r.lease ?? 0n), prev_kv: r.prevKv === true, ignore_value: r.ignoreValue === true, ignore_lease: r.ignoreLease === true };
}

export function putFrom(m: EtcdMsg): PutResult {
  return { revision: headerRevision(m), prevKv: m.prev_kv ? kvFrom(m.prev_kv) : undefined };
}

export function deleteTo(r: DeleteRangeRequest): EtcdMsg {
  return { key: r.key, range_end: r.rangeEnd, prev_kv: r.prevKv === true };
}

export function deleteFrom(m: EtcdMsg): DeleteRangeResult {
  return { revision: headerRevision(m), deleted: num(m.deleted), prevKvs: (m.prev_kvs ?? []).map(kvFrom) };
}

function compareTo(c: Compare): EtcdMsg {
  const out: EtcdMsg = { key: c.key, range_end: c.rangeEnd, target: c.target, result: c.result };
  switch (c.target) {
    case 'VERSION':
      out.version = String(c.version ?? 0);
      break;
    case 'CREATE':
      out.create_revision = String(c.createRevision ?? 0);
      break;
    case 'MOD':
      out.mod_revision = String(c.modRevision ?? 0);
      break;
    case 'VALUE':
      out.value = c.value ?? EMPTY;
      break;
    case 'LEASE':
      out.lease = String(c.lease ?? 0n);
      break;
  }
  return out;
}

function opTo(op: RequestOp): EtcdMsg {
  if ('range' in op) return { request_range: rangeTo(op.range) };
  if ('put' in op) return { request_put: putTo(op.put) };
  if ('deleteRange' in op) return { request_delete_range: deleteTo(op.deleteRange) };
  return { request_txn: txnTo(op.txn) };
}

export function txnTo(t: TxnRequest): EtcdMsg {
  return { compare: t.compare.map(compareTo), success: t.success.map(opTo), failure: t.failure.map(opTo) };
}

/**
 * Nested results keep the revision of their own header, as etcd reports it (a delete that
 * precedes the txn's first write says the revision before it); without one, the txn's.
 */
function opFrom(m: EtcdMsg, txnRevision: number): ResponseOp {
  const own = (r: EtcdMsg): number => headerRevision(r) || txnRevision;
  // `response` names the oneof's member that is set (proto-loader's oneofs option).
  if (m.response === 'response_range') return { range: { ...rangeFrom(m.response_range), revision: own(m.response_range) } };
  if (m.response === 'response_put') return { put: { ...putFrom(m.response_put), revision: own(m.response_put) } };
  if (m.response === 'response_delete_range') return { deleteRange: { ...deleteFrom(m.response_delete_range), revision: own(m.response_delete_range) } };
  return { txn: txnFrom(m.response_txn, own(m.response_txn)) };
}

export function txnFrom(m: EtcdMsg, revision = headerRevision(m)): TxnResult {
  return { revision, succeeded: m.succeeded === true, responses: (m.responses ?? []).map((r: EtcdMsg) => opFrom(r, revision)) };
}
