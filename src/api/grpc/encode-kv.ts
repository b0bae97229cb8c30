/**
 * Store results → etcdserverpb response messages, encoded by hand (field numbers from
 * proto/rpc.proto and proto/kv.proto). These are the hot unary paths (range of many keys, put),
 * where building plain objects for protobufjs to walk again cost more than writing the bytes.
 *
 * Headers: a top-level response carries cluster_id, member_id, revision and raft_term; the
 * responses inside a txn carry only their revision, and a nested txn's header is empty — as
 * etcd 3.4 answers (the same rules as the JSON gateway, src/api/json.ts).
 */
import type { DeleteRangeResult, KeyValue, PutResult, RangeResult, ResponseOp, TxnResult } from '../../mvcc/kv.ts';
import type { Identity } from '../json.ts';
import { ProtobufWriter } from '../../lib/protobuf-writer.ts';

/** mvccpb.KeyValue */
export function encodeKeyValue(kv: KeyValue): Buffer {
  const w = new ProtobufWriter(kv.key.length + kv.value.length + 40);
  w.bytes(1, kv.key).int(2, kv.createRevision).int(3, kv.modRevision).int(4, kv.version).bytes(5, kv.value);
  if (kv.lease !== 0n) w.bigint(6, kv.lease);
  return w.finish();
}

/** etcdserverpb.ResponseHeader; `id` undefined = an inner header with only the revision. */
export function encodeHeader(id: Identity | undefined, revision: number): Buffer {
  const w = new ProtobufWriter(40);
  if (id) w.bigint(1, id.clusterId).bigint(2, id.memberId);
  w.int(3, revision);
  if (id) w.bigint(4, id.raftTerm);
  return w.finish();
}

/** Header messages are the same for every response of one revision: keep the latest. */
let lastHeader: { id: Identity; revision: number; bytes: Buffer } | undefined;

export function topHeader(id: Identity, revision: number): Buffer {
  if (lastHeader && lastHeader.revision === revision && lastHeader.id === id) return lastHeader.bytes;
  const bytes = Buffer.from(encodeHeader(id, revision));
  lastHeader = { id, revision, bytes };
  return bytes;
}

function rangeBody(w: ProtobufWriter, r: RangeResult): Buffer {
  for (const kv of r.kvs) w.message(2, encodeKeyValue(kv));
  return w.bool(3, r.more).int(4, r.count).finish();
}

function putBody(w: ProtobufWriter, r: PutResult): Buffer {
  if (r.prevKv) w.message(2, encodeKeyValue(r.prevKv));
  return w.finish();
}

function deleteBody(w: ProtobufWriter, r: DeleteRangeResult): Buffer {
  w.int(2, r.deleted);
  for (const kv of r.prevKvs) w.message(3, encodeKeyValue(kv));
  return w.finish();
}

function txnBody(w: ProtobufWriter, r: TxnResult): Buffer {
  w.bool(2, r.succeeded);
  for (const op of r.responses) w.message(3, encodeResponseOp(op));
  return w.finish();
}

/** etcdserverpb.ResponseOp: the oneof `response`. */
function encodeResponseOp(op: ResponseOp): Buffer {
  const w = new ProtobufWriter();
  if ('range' in op) return w.message(1, rangeBody(new ProtobufWriter().message(1, encodeHeader(undefined, op.range.revision)), op.range)).finish();
  if ('put' in op) return w.message(2, putBody(new ProtobufWriter().message(1, encodeHeader(undefined, op.put.revision)), op.put)).finish();
  if ('deleteRange' in op) {
    return w.message(3, deleteBody(new ProtobufWriter().message(1, encodeHeader(undefined, op.deleteRange.revision)), op.deleteRange)).finish();
  }
  return w.message(4, txnBody(new ProtobufWriter().message(1, Buffer.alloc(0)), op.txn)).finish();
}

function top(id: Identity, revision: number, sizeHint = 64): ProtobufWriter {
  return new ProtobufWriter(sizeHint).message(1, topHeader(id, revision));
}

export const encodeRangeResponse = (id: Identity, r: RangeResult): Buffer => {
  let size = 64;
  for (const kv of r.kvs) size += kv.key.length + kv.value.length + 48;
  return rangeBody(top(id, r.revision, size), r);
};
export const encodePutResponse = (id: Identity, r: PutResult): Buffer => putBody(top(id, r.revision), r);
export const encodeDeleteRangeResponse = (id: Identity, r: DeleteRangeResult): Buffer => deleteBody(top(id, r.revision), r);
export const encodeTxnResponse = (id: Identity, r: TxnResult): Buffer => txnBody(top(id, r.revision), r);
/** CompactionResponse (and any response that is only a header). */
export const encodeHeaderOnly = (id: Identity, revision: number): Buffer => top(id, revision).finish();
