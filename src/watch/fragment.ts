import type { Event } from '../mvcc/kv.ts';
import type { WatchResponse } from './watch-api.ts';

/**
 * bytes: JSON framing of one event on the wire beyond its key and value (field names, revisions).
 * Not the memory an event holds: that is recent-history.ts's EVENT_HELD_OVERHEAD_BYTES.
 */
const EVENT_WIRE_OVERHEAD_BYTES = 120;

/** Approximate encoded size of an event: base64 grows key and value by 4/3. */
export function eventBytes(ev: Event, withPrevKv: boolean): number {
  let n = EVENT_WIRE_OVERHEAD_BYTES + Math.ceil(((ev.kv.key.length + ev.kv.value.length) * 4) / 3);
  if (withPrevKv && ev.prevKv) n += EVENT_WIRE_OVERHEAD_BYTES + Math.ceil(((ev.prevKv.key.length + ev.prevKv.value.length) * 4) / 3);
  return n;
}

/** bytes of `n` (>= 0) as a protobuf varint. */
function varintBytes(n: number): number {
  let len = 1;
  for (let v = n; v >= 128; v = Math.floor(v / 128)) len++;
  return len;
}

/** bytes of an int64 field (1-byte tag; 0 left out; a negative value takes 10 bytes). */
const int64Field = (n: number): number => (n === 0 ? 0 : 1 + (n < 0 ? 10 : varintBytes(n)));
/** bytes of a bytes field (left out when empty) or of a message field (always written). */
const bytesField = (len: number): number => (len === 0 ? 0 : 1 + varintBytes(len) + len);
const messageField = (len: number): number => 1 + varintBytes(len) + len;

function keyValueBytes(kv: Event['kv']): number {
  return bytesField(kv.key.length) + int64Field(kv.createRevision) + int64Field(kv.modRevision) + int64Field(kv.version) + bytesField(kv.value.length) + int64Field(Number(kv.lease));
}

/** bytes an event adds to a WatchResponse in etcd's protobuf encoding (its `events` field). */
export function eventProtoBytes(ev: Event, withPrevKv: boolean): number {
  let n = (ev.type === 'DELETE' ? 2 : 0) + messageField(keyValueBytes(ev.kv));
  if (withPrevKv && ev.prevKv) n += messageField(keyValueBytes(ev.prevKv));
  return messageField(n);
}

/**
 * bytes of a WatchResponse's other fields: its header (cluster and member ids taken at their
 * largest, 10 bytes each, revision, raft term) and watch_id.
 */
function envelopeBytes(resp: WatchResponse): number {
  const header = 2 * 11 + int64Field(resp.revision) + 2;
  return messageField(header) + int64Field(resp.watchId);
}

/**
 * Splits a response as etcd 3.4's sendFragments does, sizes in protobuf bytes (the gateway then
 * renders each part as JSON, so every transport splits alike): nothing to split below
 * `limitBytes` or with fewer than two events; otherwise events join a part, marked `fragment`,
 * until adding one brings it to the limit (a part always takes at least one), and the last part
 * goes out unmarked.
 */
export function fragmentResponse(resp: WatchResponse, limitBytes: number): WatchResponse[] {
  const n = resp.events.length;
  if (n < 2) return [resp];
  const base = envelopeBytes(resp);
  // Summed without an array first: almost every response stays whole.
  let total = base;
  for (const ev of resp.events) total += eventProtoBytes(ev, resp.withPrevKv);
  if (total < limitBytes) return [resp];
  const sizes = resp.events.map((ev) => eventProtoBytes(ev, resp.withPrevKv));
  const parts: WatchResponse[] = [];
  for (let i = 0; i < n; ) {
    const start = i;
    let size = base + 2; // the `fragment: true` flag
    while (i < n) {
      size += sizes[i]!;
      if (i > start && size >= limitBytes) break;
      i++;
    }
    const events = resp.events.slice(start, i);
    parts.push(i < n ? { ...resp, events, fragment: true } : { ...resp, events });
  }
  return parts;
}
