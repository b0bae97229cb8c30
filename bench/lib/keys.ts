/** Key and value encoding shared by the scenarios: etcd's gateway carries bytes as base64. */

export function b64(s: string): string {
  return Buffer.from(s, 'latin1').toString('base64');
}

/** The exclusive end of the prefix range: the prefix with its last byte incremented (etcd's rule). */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'latin1');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      bytes[i]! += 1;
      return bytes.subarray(0, i + 1).toString('latin1');
    }
  }
  return '\0';
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A base64 value of `bytes` bytes that starts with the send time, so a watcher can time delivery. */
export function timestampValue(bytes = 32): string {
  return b64(nowMs().toFixed(3).padEnd(bytes, ' '));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
