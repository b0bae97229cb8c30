/**
 * Mends the `:authority` of an HTTP/2 request that Node's HTTP/2 layer would refuse.
 *
 * etcdctl 3.4 dials each endpoint of `endpoint status`, `endpoint hashkv` and `defrag` directly,
 * and then sends the endpoint as written — `:authority: http://127.0.0.1:2379`. '/' is not an
 * authority character, so nghttp2 (inside Node) resets the stream with PROTOCOL_ERROR, while
 * etcd's Go server takes it. Neither grpc-js nor watchkv reads the authority, so a block whose
 * `:authority` literal holds such characters is rewritten with each of them replaced by '_'
 * (`http:__127.0.0.1:2379`).
 *
 * Invariant: the decoded value keeps its length. HPACK's dynamic table counts entries by their
 * decoded size, so the client's encoder and the server's decoder still agree on every later
 * index (a request after this one refers to the entry by index, and gets the mended value).
 * Every other representation is copied byte for byte; a block this walker cannot read is left
 * alone (nghttp2 then judges it as before).
 */
import hpack from 'hpack.js';

/** RFC 3986 authority characters, as nghttp2's check_authority accepts them. */
const ALLOWED = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@%[]") ALLOWED[c.charCodeAt(0)] = 1;
const REPLACEMENT = 0x5f; // '_'
const AUTHORITY = Buffer.from(':authority');
/** The static table's index of `:authority` (RFC 7541 appendix A). */
const AUTHORITY_INDEX = 1;

/** An authority value with each character nghttp2 would refuse replaced by '_'. */
export function mendAuthorityValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    out += c < 256 && ALLOWED[c] ? value[i] : String.fromCharCode(REPLACEMENT);
  }
  return out;
}

/** The block with its `:authority` mended, or undefined when nothing needed mending. */
export function mendAuthority(block: Buffer): Buffer | undefined {
  try {
    return walk(block);
  } catch {
    return undefined; // malformed: nghttp2 answers it as it would have
  }
}

function walk(block: Buffer): Buffer | undefined {
  let at = 0;
  while (at < block.length) {
    const first = block[at]!;
    if (first & 0x80) {
      at = readInt(block, at, 7).end; // indexed field
      continue;
    }
    if ((first & 0xe0) === 0x20) {
      at = readInt(block, at, 5).end; // dynamic table size update
      continue;
    }
    // Literal: with incremental indexing (01), without indexing (0000) or never indexed (0001).
    const prefix = first & 0x40 ? 6 : 4;
    const idx = readInt(block, at, prefix);
    at = idx.end;
    let isAuthority = idx.value === AUTHORITY_INDEX;
    if (idx.value === 0) {
      const name = readString(block, at);
      isAuthority = name.value.equals(AUTHORITY);
      at = name.end;
    }
    const valueStart = at;
    const value = readString(block, at);
    at = value.end;
    if (!isAuthority) continue;
    const mended = Buffer.from(value.value);
    let changed = false;
    for (let i = 0; i < mended.length; i++) {
      if (!ALLOWED[mended[i]!]) {
        mended[i] = REPLACEMENT;
        changed = true;
      }
    }
    if (!changed) return undefined;
    // The same representation and name, the value as a raw (not Huffman-coded) string.
    return Buffer.concat([block.subarray(0, valueStart), encodeInt(0x00, 7, mended.length), mended, block.subarray(at)]);
  }
  return undefined;
}

/** An HPACK integer (RFC 7541 §5.1) with an N-bit prefix, starting at `at`. */
function readInt(buf: Buffer, at: number, prefixBits: number): { value: number; end: number } {
  if (at >= buf.length) throw new Error('truncated integer');
  const max = (1 << prefixBits) - 1;
  let value = buf[at]! & max;
  let i = at + 1;
  if (value < max) return { value, end: i };
  for (let shift = 0; ; shift += 7) {
    if (i >= buf.length || shift > 28) throw new Error('bad integer');
    const b = buf[i++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return { value, end: i };
  }
}

function encodeInt(flags: number, prefixBits: number, value: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([flags | value]);
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** A string literal (RFC 7541 §5.2), decoded (Huffman by hpack.js). */
function readString(buf: Buffer, at: number): { value: Buffer; end: number } {
  const len = readInt(buf, at, 7);
  const end = len.end + len.value;
  if (end > buf.length) throw new Error('truncated string');
  if ((buf[at]! & 0x80) === 0) return { value: buf.subarray(len.end, end), end };
  const d = hpack.decoder.create();
  d.push(buf.subarray(at, end));
  const s = d.decodeStr();
  return { value: Buffer.isBuffer(s) ? s : Buffer.from(s), end };
}
