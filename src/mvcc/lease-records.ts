/**
 * The store's reads for the lessor seam (lease-hook.ts): the lessor's records in the backend,
 * and the attachments the key index holds. Kept out of kv-store.ts, which owns the write path.
 */
import type { Backend } from '../backend/backend.ts';
import { scanPages } from '../backend/scan-pages.ts';
import { LEASE_PREFIX } from './kv-codec.ts';
import type { TreeIndex } from './tree-index.ts';

/** Every record under LEASE_PREFIX, in key order, read `batch` at a time. */
export function scanLeaseRecords(backend: Backend, batch: number): Promise<Array<[Buffer, Buffer]>> {
  return scanPrefixRecords(backend, LEASE_PREFIX, batch);
}

/** Every record whose first byte is `prefix` (a lessor's or the auth store's), in key order. */
export async function scanPrefixRecords(backend: Backend, prefix: number, batch: number): Promise<Array<[Buffer, Buffer]>> {
  const out: Array<[Buffer, Buffer]> = [];
  const range = { gte: Buffer.from([prefix]), lt: Buffer.from([prefix + 1]) };
  for await (const entries of scanPages(backend, range, batch)) out.push(...entries);
  return out;
}

/** Every live key with a lease, in key order (from the index's cached latest kvs). */
export function attachedKeys(index: TreeIndex): Array<{ key: Buffer; lease: bigint }> {
  const out: Array<{ key: Buffer; lease: bigint }> = [];
  index.keysIn(Buffer.alloc(0), null, (ki) => {
    const lease = ki.latestLease(); // not ki.latest: that would unpack every kv restored packed
    if (lease !== 0n) out.push({ key: ki.key, lease });
  });
  return out;
}
