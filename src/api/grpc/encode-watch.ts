/**
 * WatchResponse → etcdserverpb.WatchResponse bytes, the gRPC watch hot path.
 *
 * One committed revision fans out to every watcher that matches it, so each event is encoded
 * once, as the embedded-message bytes of field 11 (tag + length + mvccpb.Event), and kept on the
 * event (`Event.wire`, shared with the JSON transport, which keeps its own properties on the same
 * object). A watcher's response is then its header, a few scalars, and those bytes copied once.
 */
import type { Event } from '../../mvcc/kv.ts';
import type { WatchResponse } from '../../watch/watch-api.ts';
import type { Identity } from '../json.ts';
import { ProtobufWriter } from '../../lib/protobuf-writer.ts';
import { encodeKeyValue, topHeader } from './encode-kv.ts';

/** This transport's part of the per-event memo (see kv.ts `Event.wire`). */
interface PbMemo {
  pb?: Buffer;
  pbWithPrev?: Buffer;
}

/** Field 11 of WatchResponse holding one mvccpb.Event, ready to copy into a response. */
export function encodeEventField(ev: Event, withPrevKv: boolean): Buffer {
  let memo = ev.wire as PbMemo | undefined;
  if (memo === undefined) ev.wire = memo = {};
  const prev = withPrevKv && ev.prevKv !== undefined;
  const hit = prev ? memo.pbWithPrev : memo.pb;
  if (hit) return hit;
  const e = new ProtobufWriter(ev.kv.key.length + ev.kv.value.length + 48);
  e.int(1, ev.type === 'DELETE' ? 1 : 0).message(2, encodeKeyValue(ev.kv));
  if (prev) e.message(3, encodeKeyValue(ev.prevKv!));
  // Copied to an exact-size buffer: it lives as long as the event stays in recent history.
  const bytes = Buffer.from(new ProtobufWriter(e.finish().length + 6).message(11, e.finish()).finish());
  if (prev) memo.pbWithPrev = bytes;
  else memo.pb = bytes;
  return bytes;
}

/**
 * Multi-event lists already encoded, per prev_kv choice, by list identity: the engine hands the
 * same list object to every watcher of a revision's fan-out and of a catch-up cohort
 * (src/watch/route-history.ts), so the batch is encoded once, not once per watcher. Weak: the
 * bytes live exactly as long as some watcher's response still holds the list.
 */
const encodedLists = [new WeakMap<readonly Event[], Buffer>(), new WeakMap<readonly Event[], Buffer>()] as const;

function eventsBytes(events: readonly Event[], withPrevKv: boolean): Buffer {
  if (events.length === 1) return encodeEventField(events[0]!, withPrevKv);
  const memo = encodedLists[withPrevKv ? 1 : 0];
  let bytes = memo.get(events);
  if (bytes === undefined) {
    bytes = Buffer.concat(events.map((ev) => encodeEventField(ev, withPrevKv)));
    memo.set(events, bytes);
  }
  return bytes;
}

/** WatchResponse fields before the events: header, watch id, flags, cancel reason. */
function headFields(id: Identity, r: WatchResponse): ProtobufWriter {
  const w = new ProtobufWriter(64 + (r.cancelReason ? r.cancelReason.length * 3 : 0));
  w.message(1, topHeader(id, r.revision)).int(2, r.watchId).bool(3, r.created).bool(4, r.canceled);
  w.int(5, r.compactRevision ?? 0).string(6, r.cancelReason).bool(7, r.fragment);
  return w;
}

export function encodeWatchResponse(id: Identity, r: WatchResponse): Buffer {
  const events = r.events.length > 0 ? eventsBytes(r.events, r.withPrevKv) : null;
  const head = headFields(id, r).finish();
  if (!events) return head;
  const out = Buffer.allocUnsafe(head.length + events.length);
  head.copy(out, 0);
  events.copy(out, head.length);
  return out;
}

/**
 * One WatchResponse as a gRPC length-prefixed message, in two pieces for a vectored write: the
 * 5-byte prefix with the response's own fields, and the events' bytes — shared with every other
 * watcher of the same revision or catch-up cohort, so never copied per watcher.
 */
export interface GrpcWatchMessage {
  head: Buffer;
  events: Buffer | null;
}

export function encodeWatchMessage(id: Identity, r: WatchResponse): GrpcWatchMessage {
  const events = r.events.length > 0 ? eventsBytes(r.events, r.withPrevKv) : null;
  const fields = headFields(id, r).finish();
  const head = Buffer.allocUnsafe(5 + fields.length);
  head[0] = 0;
  head.writeUInt32BE(fields.length + (events ? events.length : 0), 1);
  fields.copy(head, 5);
  return { head, events };
}
