/**
 * The plain-REST JSON shape of keys and values: text where the bytes are UTF-8, base64 where they
 * are not, and JSON numbers for revisions (they stay far below 2^53). The lease id is a decimal
 * string: etcd lease ids use all 63 bits, past what a JavaScript number holds exactly.
 */
import { isUtf8 } from 'node:buffer';
import type { KeyValue } from '../../mvcc/kv.ts';

export { isUtf8 };

/** `"name":"text"` or `"name_base64":"…"` for a byte field. */
export function bytesField(name: string, b: Buffer): string {
  return isUtf8(b) ? `"${name}":${JSON.stringify(b.toString('utf8'))}` : `"${name}_base64":"${b.toString('base64')}"`;
}

/** One key as `{"key","value"|"value_base64","create_revision","mod_revision","version","lease"}`. */
export function encodeRestKv(kv: KeyValue, keysOnly = false): string {
  let s = `{${bytesField('key', kv.key)}`;
  if (!keysOnly) s += ',' + bytesField('value', kv.value);
  return s + `,"create_revision":${kv.createRevision},"mod_revision":${kv.modRevision},"version":${kv.version},"lease":"${kv.lease}"}`;
}
