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

/**
 * Splits a response over `limitBytes` into parts, as etcd's sendFragments: only with at least
 * two events; events packed greedily, an event joins a part unless it would push it to the
 * limit (a single event always goes); every part but the last says `fragment: true`.
 */
export function fragmentResponse(resp: WatchResponse, limitBytes: number): WatchResponse[] {
  if (resp.events.length < 2) return [resp];
  let total = 0;
  for (const ev of resp.events) total += eventBytes(ev, resp.withPrevKv);
  if (total < limitBytes) return [resp];
  const parts: WatchResponse[] = [];
  let current: Event[] = [];
  let size = 0;
  for (const ev of resp.events) {
    const n = eventBytes(ev, resp.withPrevKv);
    if (current.length > 0 && size + n >= limitBytes) {
      parts.push({ ...resp, events: current, fragment: true });
      current = [];
      size = 0;
    }
    current.push(ev);
    size += n;
  }
  parts.push({ ...resp, events: current });
  return parts;
}
