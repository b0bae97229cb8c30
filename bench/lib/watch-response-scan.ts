/**
 * The fan-out harness's reader of etcdserverpb.WatchResponse bytes: the few fields its checks
 * need (watch id, created/canceled, compact revision, and each event's mod_revision and value
 * position), found by walking the wire format, never decoding it. It is the same for both
 * servers, and cheap on purpose: at millions of events a second the harness shares the box's
 * two cores with the server under test, so every cycle it spends is one the server loses.
 * No closures and no allocation per field; one result object, reused per response.
 */

export interface ScannedWatchResponse {
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  /** per event: mod_revision, and its value's [start, end) in the buffer */
  revs: number[];
  valueStart: number[];
  valueEnd: number[];
}

let pos = 0;

function varint(b: Buffer): number {
  let byte = b[pos++]!;
  if (byte < 0x80) return byte;
  let v = byte & 0x7f;
  let mul = 0x80;
  for (;;) {
    byte = b[pos++]!;
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) return v;
    mul *= 0x80;
  }
}

/** Skips a field's value of wire type `wt` (the tag already read). */
function skip(b: Buffer, wt: number): void {
  if (wt === 0) varint(b);
  else if (wt === 2) {
    const len = varint(b);
    pos += len;
  } else if (wt === 1) pos += 8;
  else if (wt === 5) pos += 4;
  else throw new Error(`unsupported wire type ${wt}`);
}

/** mvccpb.KeyValue: mod_revision = 3, value = 5. */
function scanKv(b: Buffer, stop: number, out: ScannedWatchResponse): void {
  let rev = 0;
  let vs = -1;
  let ve = -1;
  while (pos < stop) {
    const tag = varint(b);
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 3 && wt === 0) rev = varint(b);
    else if (f === 5 && wt === 2) {
      const len = varint(b);
      vs = pos;
      ve = pos + len;
      pos = ve;
    } else skip(b, wt);
  }
  if (rev === 0) return; // no mod_revision: not an event the checks can count
  out.revs.push(rev);
  out.valueStart.push(vs);
  out.valueEnd.push(ve);
}

/** mvccpb.Event: kv = 2. */
function scanEvent(b: Buffer, stop: number, out: ScannedWatchResponse): void {
  while (pos < stop) {
    const tag = varint(b);
    if (tag === ((2 << 3) | 2)) {
      const len = varint(b);
      const end = pos + len;
      scanKv(b, end, out);
      pos = end;
    } else skip(b, tag & 7);
  }
}

export function newScan(): ScannedWatchResponse {
  return { watchId: 0, created: false, canceled: false, compactRevision: 0, revs: [], valueStart: [], valueEnd: [] };
}

/** Fills `out` from one WatchResponse (watch_id = 2, created = 3, canceled = 4, compact_revision = 5, events = 11). */
export function scanWatchResponse(b: Buffer, out: ScannedWatchResponse): void {
  out.watchId = 0;
  out.created = false;
  out.canceled = false;
  out.compactRevision = 0;
  out.revs.length = 0;
  out.valueStart.length = 0;
  out.valueEnd.length = 0;
  pos = 0;
  const end = b.length;
  while (pos < end) {
    const tag = varint(b);
    const f = tag >>> 3;
    const wt = tag & 7;
    if (wt === 0) {
      const v = varint(b);
      if (f === 2) out.watchId = v;
      else if (f === 3) out.created = v === 1;
      else if (f === 4) out.canceled = v === 1;
      else if (f === 5) out.compactRevision = v;
    } else if (f === 11 && wt === 2) {
      const len = varint(b);
      const stop = pos + len;
      scanEvent(b, stop, out);
      pos = stop;
    } else skip(b, wt);
  }
}
