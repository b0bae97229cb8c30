/** Decodes gateway watch frames back into WatchResponse objects, for the watch validator. */
import type { Event, KeyValue } from '../../src/mvcc/kv.ts';
import type { WatchResponse } from '../../src/watch/watch-api.ts';

function kv(o: any): KeyValue {
  return {
    key: Buffer.from(o.key ?? '', 'base64'),
    value: Buffer.from(o.value ?? '', 'base64'),
    createRevision: Number(o.create_revision ?? 0),
    modRevision: Number(o.mod_revision ?? 0),
    version: Number(o.version ?? 0),
    lease: BigInt(o.lease ?? 0),
  };
}

/** undefined for non-result frames (errors). */
export function decodeFrame(text: string): WatchResponse | undefined {
  const r = JSON.parse(text).result;
  if (!r) return undefined;
  const events: Event[] = (r.events ?? []).map((e: any) => ({ type: e.type === 'DELETE' ? 'DELETE' : 'PUT', kv: kv(e.kv), prevKv: e.prev_kv ? kv(e.prev_kv) : undefined }));
  return {
    watchId: Number(r.watch_id ?? 0),
    revision: Number(r.header?.revision ?? 0),
    created: r.created,
    canceled: r.canceled,
    cancelReason: r.cancel_reason,
    compactRevision: r.compact_revision ? Number(r.compact_revision) : undefined,
    fragment: r.fragment,
    events,
    withPrevKv: events.some((e) => e.prevKv !== undefined),
  };
}
