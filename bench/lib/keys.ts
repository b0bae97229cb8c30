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

/**
 * Milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC, since boot), with sub-millisecond
 * resolution: the same clock in every process, so the writer's send time and the harness's receipt
 * time compare. Not `performance.timeOrigin + performance.now()`: each process fixes its
 * timeOrigin from the wall clock when it starts, so two processes started minutes apart (the
 * writer is forked per scenario) can disagree by whatever the wall clock was stepped or slewed
 * in between. A full run of 2026-12-03 recorded p50 = p99 = max = 0 for the saturation rows
 * (negatives clamped), which such an offset explains; with this clock the next one did not.
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** A base64 value of `bytes` bytes that starts with the send time, so a watcher can time delivery. */
export function timestampValue(bytes = 32): string {
  return b64(nowMs().toFixed(3).padEnd(bytes, ' '));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
