/**
 * Writing etcd gateway JSON: snake_case fields in proto order, int64 as strings, bytes as
 * base64, fields at their default omitted. Built by string concatenation: the output shape is
 * fixed, and watch events (the hot path) are encoded once per Event object and reused by every
 * watcher (see encodeEvent).
 */
import type { DeleteRangeResult, Event, KeyValue, PutResult, RangeResult, ResponseOp, TxnResult } from '../mvcc/kv.ts';
import type { LagInfo, WatchResponse } from '../watch/watch-api.ts';

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

/**
 * The memo kept in Event.wire: the event's encoding without prev_kv, and with it. Events are
 * immutable and shared (kv.ts), so one encoding serves every watcher and every replay. A plain
 * property, not a WeakMap: hundreds of thousands of live WeakMap entries make every GC slower.
 */
interface WireMemo {
  plain?: string;
  withPrev?: string;
}

export function encodeEvent(ev: Event, withPrevKv: boolean): string {
  let memo = ev.wire as WireMemo | undefined;
  if (memo === undefined) ev.wire = memo = {};
  if (withPrevKv && ev.prevKv) {
    return (memo.withPrev ??= flat(`${encodeEventOpen(ev)},"prev_kv":${encodeKv(ev.prevKv)}}`));
  }
  return (memo.plain ??= flat(`${encodeEventOpen(ev)}}`));
}

/**
 * A string built with + is a rope of its pieces; V8 flattens it on first character access. A
 * memoized encoding lives as long as its event, and as a rope it held ~3x the memory in a
 * dozen small objects for the GC to trace (measured: 950 B vs 310 B per event).
 */
function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

function encodeEventOpen(ev: Event): string {
  return (ev.type === 'DELETE' ? '{"type":"DELETE","kv":' : '{"kv":') + encodeKv(ev.kv);
}

/** One `{"result": WatchResponse}` frame (no trailing newline). */
export function encodeWatchFrame(id: Identity, r: WatchResponse): string {
  const { head, events, tail } = encodeWatchFramePieces(id, r);
  return head + (events ? events.toString('latin1') : '') + tail;
}

/**
 * A frame in pieces: its text is `head`, then the bytes of `events` (if any), then `}}`. The
 * events bytes are shared by every watcher given the same events (eventsBytes), so a transport
 * can copy them once into its output instead of building a buffer per watcher.
 */
export interface WatchFramePieces {
  head: string;
  events: Buffer | null;
  tail: string;
}

export function encodeWatchFramePieces(id: Identity, r: WatchResponse): WatchFramePieces {
  return { head: frameHead(id, r), events: r.events.length > 0 ? eventsBytes(r.events, r.withPrevKv) : null, tail: '}}' };
}

/**
 * The last events list encoded, for each prev_kv choice. A revision fans out to its watchers
 * one after the other, and the router hands every watcher that wants all of the revision's
 * events the same array, so one encoding serves all of them.
 */
const lastEvents: [{ events: readonly Event[] | null; bytes: Buffer }, { events: readonly Event[] | null; bytes: Buffer }] = [
  { events: null, bytes: Buffer.alloc(0) },
  { events: null, bytes: Buffer.alloc(0) },
];

/**
 * `,"events":[…]` as bytes. Built straight into one buffer: a catch-up frame holds up to
 * hundreds of thousands of memoized event strings, and concatenating them into one string builds
 * a rope that costs more to flatten and UTF-8-encode than the events took to encode. Event
 * encodings are pure ASCII (base64, digits, field names), so they are copied as latin1.
 */
/** events: lists up to this long are one revision's fan-out, worth keeping encoded. */
const SHARED_LIST_MAX = 16;

function eventsBytes(events: readonly Event[], withPrevKv: boolean): Buffer {
  const slot = lastEvents[withPrevKv ? 1 : 0];
  if (slot.events === events) return slot.bytes;
  const n = events.length;
  const parts = new Array<string>(n);
  let size = ',"events":[]'.length + (n - 1);
  for (let i = 0; i < n; i++) size += (parts[i] = encodeEvent(events[i]!, withPrevKv)).length;
  const buf = Buffer.allocUnsafe(size);
  let off = buf.write(',"events":[', 0, 'latin1');
  for (let i = 0; i < n; i++) {
    if (i > 0) buf[off++] = 0x2c; // ,
    off += buf.write(parts[i]!, off, 'latin1');
  }
  buf[off] = 0x5d; // ]
  // Only small lists are kept: a big catch-up list is sent once, and must not stay pinned.
  if (n <= SHARED_LIST_MAX) {
    slot.events = events;
    slot.bytes = buf;
  }
  return buf;
}

/** Everything of a frame before its events, without the closing braces. */
function frameHead(id: Identity, r: WatchResponse): string {
  let s = `{"result":{"header":${watchHeader(id, r.revision)}`;
  if (r.watchId !== 0) s += `,"watch_id":"${r.watchId}"`;
  if (r.created) s += ',"created":true';
  if (r.canceled) s += ',"canceled":true';
  if (r.compactRevision) s += `,"compact_revision":"${r.compactRevision}"`;
  if (r.cancelReason) s += `,"cancel_reason":${JSON.stringify(r.cancelReason)}`;
  if (r.fragment) s += ',"fragment":true';
  // watchkv extensions (only ever set for watchers that opted in).
  if (r.snapshotStart) s += ',"snapshot_start":true';
  if (r.snapshotDone) s += ',"snapshot_done":true';
  if (r.lagging) s += `,"lagging":${encodeLagging(r.lagging)}`;
  return s;
}

function encodeLagging(l: LagInfo): string {
  let s = `{"behind_revisions":"${l.behindRevisions}","pending_bytes":"${l.pendingBytes}"`;
  if (l.disconnectInMs !== undefined) s += `,"disconnect_in_ms":"${l.disconnectInMs}"`;
  return s + '}';
}

/** One revision's header is sent to every watcher it fans out to: keep the latest encoding. */
let lastHeader: { id: Identity; revision: number; text: string } | undefined;

function watchHeader(id: Identity, revision: number): string {
  if (lastHeader && lastHeader.revision === revision && lastHeader.id === id) return lastHeader.text;
  lastHeader = { id, revision, text: encodeHeader(id, revision) };
  return lastHeader.text;
}
