/**
 * Writing etcd gateway JSON: snake_case fields in proto order, int64 as strings, bytes as
 * base64, fields at their default omitted. Built by string concatenation: the output shape is
 * fixed, and watch events (the hot path) are encoded once per Event object and reused by every
 * watcher (see encodeEvent).
 */
import type { DeleteRangeResult, Event, KeyValue, PutResult, RangeResult, ResponseOp, TxnResult } from '../mvcc/kv.ts';
import type { WatchResponse } from '../watch/watch-api.ts';

export { parseJsonObject, type JsonObject as JsonObjectLike } from './json-read.ts';
export * from './json-requests.ts';

/** The server's identity as it appears in every header. */
export interface Identity {
  clusterId: string;
  memberId: string;
  raftTerm: string;
}

function int(name: string, n: number | bigint, first = false): string {
  return n === 0 || n === 0n ? '' : `${first ? '' : ','}"${name}":"${n}"`;
}

export function encodeKv(kv: KeyValue): string {
  let s = `{"key":"${kv.key.toString('base64')}"`;
  s += int('create_revision', kv.createRevision) + int('mod_revision', kv.modRevision) + int('version', kv.version);
  if (kv.value.length > 0) s += `,"value":"${kv.value.toString('base64')}"`;
  return s + int('lease', kv.lease) + '}';
}

function kvList(name: string, kvs: readonly KeyValue[]): string {
  return kvs.length === 0 ? '' : `,"${name}":[${kvs.map(encodeKv).join(',')}]`;
}

/** The full header of a top-level response; `revision` 0 is omitted like any default. */
export function encodeHeader(id: Identity, revision: number): string {
  return `{"cluster_id":"${id.clusterId}","member_id":"${id.memberId}"${int('revision', revision)},"raft_term":"${id.raftTerm}"}`;
}

/** Inner txn responses carry a header with only the revision, as etcd. */
function innerHeader(revision: number): string {
  return `{${int('revision', revision, true)}}`;
}

function rangeBody(r: RangeResult): string {
  return kvList('kvs', r.kvs) + (r.more ? ',"more":true' : '') + int('count', r.count);
}
function putBody(r: PutResult): string {
  return r.prevKv ? `,"prev_kv":${encodeKv(r.prevKv)}` : '';
}
function deleteBody(r: DeleteRangeResult): string {
  return int('deleted', r.deleted) + kvList('prev_kvs', r.prevKvs);
}
function txnBody(r: TxnResult): string {
  const ops = r.responses.map(encodeResponseOp);
  return (r.succeeded ? ',"succeeded":true' : '') + (ops.length ? `,"responses":[${ops.join(',')}]` : '');
}

function encodeResponseOp(op: ResponseOp): string {
  if ('range' in op) return `{"response_range":{"header":${innerHeader(op.range.revision)}${rangeBody(op.range)}}}`;
  if ('put' in op) return `{"response_put":{"header":${innerHeader(op.put.revision)}${putBody(op.put)}}}`;
  if ('deleteRange' in op) return `{"response_delete_range":{"header":${innerHeader(op.deleteRange.revision)}${deleteBody(op.deleteRange)}}}`;
  // etcd leaves a nested txn's header empty (only its ops' headers carry revisions).
  return `{"response_txn":{"header":{}${txnBody(op.txn)}}}`;
}

export const encodeRange = (id: Identity, r: RangeResult): string => `{"header":${encodeHeader(id, r.revision)}${rangeBody(r)}}`;
export const encodePut = (id: Identity, r: PutResult): string => `{"header":${encodeHeader(id, r.revision)}${putBody(r)}}`;
export const encodeDeleteRange = (id: Identity, r: DeleteRangeResult): string => `{"header":${encodeHeader(id, r.revision)}${deleteBody(r)}}`;
export const encodeTxn = (id: Identity, r: TxnResult): string => `{"header":${encodeHeader(id, r.revision)}${txnBody(r)}}`;
export const encodeHeaderOnly = (id: Identity, revision: number): string => `{"header":${encodeHeader(id, revision)}}`;

// ---- watch hot path ----

/** Per Event object: [without prev_kv, with prev_kv]. Events are immutable and shared (kv.ts). */
const eventCache = new WeakMap<Event, [string | undefined, string | undefined]>();

export function encodeEvent(ev: Event, withPrevKv: boolean): string {
  let slot = eventCache.get(ev);
  if (!slot) {
    slot = [undefined, undefined];
    eventCache.set(ev, slot);
  }
  const i = withPrevKv && ev.prevKv ? 1 : 0;
  let s = slot[i];
  if (s === undefined) {
    s = (ev.type === 'DELETE' ? '{"type":"DELETE","kv":' : '{"kv":') + encodeKv(ev.kv);
    if (i === 1) s += `,"prev_kv":${encodeKv(ev.prevKv!)}`;
    s += '}';
    slot[i] = s;
  }
  return s;
}

/** One `{"result": WatchResponse}` frame (no trailing newline). */
export function encodeWatchFrame(id: Identity, r: WatchResponse): string {
  let s = `{"result":{"header":${encodeHeader(id, r.revision)}`;
  if (r.watchId !== 0) s += `,"watch_id":"${r.watchId}"`;
  if (r.created) s += ',"created":true';
  if (r.canceled) s += ',"canceled":true';
  if (r.compactRevision) s += `,"compact_revision":"${r.compactRevision}"`;
  if (r.cancelReason) s += `,"cancel_reason":${JSON.stringify(r.cancelReason)}`;
  if (r.fragment) s += ',"fragment":true';
  if (r.events.length > 0) {
    s += ',"events":[';
    for (let i = 0; i < r.events.length; i++) s += (i ? ',' : '') + encodeEvent(r.events[i]!, r.withPrevKv);
    s += ']';
  }
  return s + '}}';
}
