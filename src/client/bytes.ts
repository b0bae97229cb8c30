/**
 * Keys and values as strings (UTF-8) or bytes, and the base64 the gateway speaks. Uses Buffer
 * when the runtime has one (Node: much faster) and btoa/atob otherwise (browsers); nothing here
 * imports a Node module, so the browser bundle stays free of them.
 */

/** A key or value as the caller gives it: a string is encoded as UTF-8. */
export type BytesLike = string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface BufferLike {
  from(data: Uint8Array | string, encoding?: string): Uint8Array & { toString(encoding: string): string };
}
const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;

export function toBytes(b: BytesLike): Uint8Array {
  return typeof b === 'string' ? encoder.encode(b) : b;
}

export function utf8(b: Uint8Array): string {
  return decoder.decode(b);
}

export function toBase64(b: BytesLike): string {
  if (NodeBuffer) return typeof b === 'string' ? NodeBuffer.from(b, 'utf8').toString('base64') : NodeBuffer.from(b).toString('base64');
  const bytes = toBytes(b);
  let bin = '';
  // In slices: String.fromCharCode's argument count is limited.
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function fromBase64(s: string): Uint8Array {
  if (NodeBuffer) {
    const b = NodeBuffer.from(s, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** base64 → UTF-8 string in one step (the common case for keys). */
export function base64ToUtf8(s: string): string {
  if (NodeBuffer) return NodeBuffer.from(s, 'base64').toString('utf8');
  return utf8(fromBase64(s));
}

/**
 * The range end that covers every key starting with `prefix` (etcd's GetPrefixRangeEnd): the
 * prefix with its last byte below 0xff incremented and what follows dropped. A prefix of only
 * 0xff bytes (or empty) has no such key: `"\0"` then means "to the end of the keyspace".
 */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i]! += 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/** `"\0"` as base64: a range end meaning "to the end of the keyspace" (and an empty key = "from the start"). */
export const ZERO_KEY_B64 = 'AA==';
