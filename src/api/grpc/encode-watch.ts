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

/** The last events list encoded, per prev_kv choice: a revision's fan-out shares one array. */
const lastEvents: Array<{ events: readonly Event[] | null; bytes: Buffer }> = [
  { events: null, bytes: Buffer.alloc(0) },
  { events: null, bytes: Buffer.alloc(0) },
];
/** events: lists up to this long are one revision's fan-out, worth keeping encoded. */
const SHARED_LIST_MAX = 16;

function eventsBytes(events: readonly Event[], withPrevKv: boolean): Buffer {
  const slot = lastEvents[withPrevKv ? 1 : 0]!;
  if (slot.events === events) return slot.bytes;
  const bytes = events.length === 1 ? encodeEventField(events[0]!, withPrevKv) : Buffer.concat(events.map((ev) => encodeEventField(ev, withPrevKv)));
  if (events.length <= SHARED_LIST_MAX) {
    slot.events = events;
    slot.bytes = bytes;
  }
  return bytes;
}

export function encodeWatchResponse(id: Identity, r: WatchResponse): Buffer {
  const events = r.events.length > 0 ? eventsBytes(r.events, r.withPrevKv) : null;
  const w = new ProtobufWriter(64 + (r.cancelReason ? r.cancelReason.length * 3 : 0));
  w.message(1, topHeader(id, r.revision)).int(2, r.watchId).bool(3, r.created).bool(4, r.canceled);
  w.int(5, r.compactRevision ?? 0).string(6, r.cancelReason).bool(7, r.fragment);
  if (!events) return w.finish();
  const head = w.finish();
  const out = Buffer.allocUnsafe(head.length + events.length);
  head.copy(out, 0);
  events.copy(out, head.length);
  return out;
}
