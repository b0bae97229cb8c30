/**
 * HTTP/2 wire pieces (RFC 9113) for watchkv's own framing layer (h2-connection.ts): frame types,
 * flags, error codes, settings ids, frame headers, and an HPACK encoder that never indexes.
 *
 * Why an encoder that never indexes: a response header block made only of static-table references
 * and literals "without indexing" (RFC 7541 §6.2.2) leaves the peer's dynamic table untouched, so
 * the encoder keeps no state and the blocks of gRPC's common answers can be built once and reused
 * on every connection. The one rule that remains: after the peer changes SETTINGS_HEADER_TABLE_SIZE
 * a block must start with a table size update, and `TABLE_SIZE_ZERO` is always a valid one.
 */

export const FRAME_HEADER_BYTES = 9;
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const T_DATA = 0x0;
export const T_HEADERS = 0x1;
export const T_PRIORITY = 0x2;
export const T_RST_STREAM = 0x3;
export const T_SETTINGS = 0x4;
export const T_PUSH_PROMISE = 0x5;
export const T_PING = 0x6;
export const T_GOAWAY = 0x7;
export const T_WINDOW_UPDATE = 0x8;
export const T_CONTINUATION = 0x9;

export const F_END_STREAM = 0x1;
export const F_ACK = 0x1;
export const F_END_HEADERS = 0x4;
export const F_PADDED = 0x8;
export const F_PRIORITY = 0x20;

/** RFC 9113 §7. */
export const E = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

export const S_HEADER_TABLE_SIZE = 0x1;
export const S_ENABLE_PUSH = 0x2;
export const S_INITIAL_WINDOW_SIZE = 0x4;
export const S_MAX_FRAME_SIZE = 0x5;

/** The largest window RFC 9113 allows (§6.9.1). */
export const MAX_WINDOW = 2 ** 31 - 1;
/** What a peer may send before our SETTINGS say otherwise (RFC 9113 §4.2), and what we never raise. */
export const DEFAULT_MAX_FRAME_BYTES = 16_384;
export const DEFAULT_WINDOW_BYTES = 65_535;

export function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  h[0] = (length >>> 16) & 0xff;
  h[1] = (length >>> 8) & 0xff;
  h[2] = length & 0xff;
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return h;
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(payload.length, type, flags, streamId), payload]);
}

export function settingsFrame(settings: ReadonlyArray<[number, number]>): Buffer {
  const p = Buffer.allocUnsafe(6 * settings.length);
  settings.forEach(([id, value], i) => {
    p.writeUInt16BE(id, 6 * i);
    p.writeUInt32BE(value, 6 * i + 2);
  });
  return frame(T_SETTINGS, 0, 0, p);
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(increment, 0);
  return frame(T_WINDOW_UPDATE, 0, streamId, p);
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(code, 0);
  return frame(T_RST_STREAM, 0, streamId, p);
}

export function goawayFrame(lastStreamId: number, code: number, debug = ''): Buffer {
  const d = Buffer.from(debug, 'utf8');
  const p = Buffer.allocUnsafe(8 + d.length);
  p.writeUInt32BE(lastStreamId, 0);
  p.writeUInt32BE(code, 4);
  d.copy(p, 8);
  return frame(T_GOAWAY, 0, 0, p);
}

/** The payload without its padding (PADDED flag), or undefined when the padding is too long. */
export function unpad(payload: Buffer, flags: number): Buffer | undefined {
  if (!(flags & F_PADDED)) return payload;
  if (payload.length < 1) return undefined;
  const pad = payload[0]!;
  if (pad > payload.length - 1) return undefined;
  return payload.subarray(1, payload.length - pad);
}

// ---- HPACK, encoding side ----

/** A dynamic table size update to 0 (RFC 7541 §6.3): valid at the start of any block. */
export const TABLE_SIZE_ZERO = Buffer.from([0x20]);

/** `:status` values with a static-table entry (RFC 7541 appendix A). */
const STATUS_INDEX: Record<string, number> = { '200': 8, '204': 9, '206': 10, '304': 11, '400': 12, '404': 13, '500': 14 };

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1); `first` holds the prefix's other bits. */
function hpackInt(out: number[], first: number, prefixBits: number, n: number): void {
  const max = (1 << prefixBits) - 1;
  if (n < max) {
    out.push(first | n);
    return;
  }
  out.push(first | max);
  for (n -= max; n >= 128; n = Math.floor(n / 128)) out.push((n % 128) | 128);
  out.push(n);
}

function literal(out: number[], s: string): void {
  const b = Buffer.from(s, 'latin1');
  hpackInt(out, 0, 7, b.length); // not Huffman-coded
  for (const c of b) out.push(c);
}

/**
 * A header block for `fields` (names already lowercase, pseudo-headers first): `:status` from the
 * static table when it has one, everything else as literals without indexing.
 */
export function encodeHeaderBlock(fields: ReadonlyArray<[string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const idx = name === ':status' ? STATUS_INDEX[value] : undefined;
    if (idx !== undefined) {
      out.push(0x80 | idx);
      continue;
    }
    out.push(0x00);
    literal(out, name);
    literal(out, value);
  }
  return Buffer.from(out);
}

/** The fields of a node-style header object, pseudo-headers first, arrays as repeated fields. */
export function headerFields(headers: Readonly<Record<string, string | number | readonly string[] | undefined>>): Array<[string, string]> {
  const pseudo: Array<[string, string]> = [];
  const regular: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const name = k.toLowerCase();
    const into = name.startsWith(':') ? pseudo : regular;
    if (Array.isArray(v)) for (const one of v) into.push([name, String(one)]);
    else into.push([name, String(v)]);
  }
  return [...pseudo, ...regular];
}
