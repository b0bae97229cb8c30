/**
 * Consistency hashes of the store, as etcd's Maintenance.HashKV and Hash report them: two stores
 * with the same history give the same hash at the same revision, so a restored snapshot, a copy
 * or a replica can be checked against the original (`etcdctl endpoint hashkv`).
 *
 * The values are watchkv's own (SHA-256 of the stored records, first 4 bytes), not etcd's (CRC-32C
 * of bbolt's records): the two stores lay out their records differently, so their hashes could not
 * agree anyway. What HashKV covers follows etcd's rule, so that it does not depend on how far a
 * physical compaction has got: every record of a revision in (compactRev, rev], plus each record
 * at or below compactRev that compaction keeps and that no revision up to `rev` replaced.
 */
import { createHash } from 'node:crypto';
import type { Backend } from '../backend/backend.ts';
import { scanPages } from '../backend/scan-pages.ts';
import { kvError } from '../errors.ts';
import { decodeRecord, recordKey } from './kv-codec.ts';
import type { KvHash } from './kv.ts';
import type { TreeIndex } from './tree-index.ts';

/** What HashKV reads from the store (its index is read live: a failed write may rebuild it). */
export interface HashHost {
  readonly index: TreeIndex;
  currentRevision(): number;
  compactRevision(): number;
}

/** Bytes hashed first, so an empty range still has a defined hash (etcd hashes its bucket name). */
const DOMAIN = Buffer.from('watchkv/kv');

/**
 * HashKV at `rev` (0 = current). As etcd: 0 < rev <= compactRev → ERR_COMPACTED, rev > current →
 * ERR_FUTURE_REV, a negative rev hashes nothing. A compaction that lands while the records are
 * read changes what is kept, so the hash starts over (at most `retries` times).
 */
export async function hashKv(
  backend: Backend,
  host: HashHost,
  rev: number,
  batchRecords: number,
  /** False until the first compaction (then compactRevision is reported as -1, as etcd). */
  compactedOnce: () => boolean,
  retries = 3,
): Promise<KvHash> {
  for (let attempt = 0; ; attempt++) {
    const compactRev = host.compactRevision();
    const current = host.currentRevision();
    if (rev > 0 && rev <= compactRev) throw kvError('ERR_COMPACTED');
    if (rev > current) throw kvError('ERR_FUTURE_REV');
    const upto = rev === 0 ? current : rev;
    const hash = await hashRecords(backend, host, upto, compactRev, batchRecords);
    if (host.compactRevision() === compactRev) {
      return { hash, compactRevision: compactedOnce() ? compactRev : -1, currentRevision: current };
    }
    if (attempt >= retries) throw kvError('ERR_UNAVAILABLE', 'compactions kept changing the store while it was hashed; try again');
  }
}

async function hashRecords(backend: Backend, host: HashHost, upto: number, compactRev: number, batchRecords: number): Promise<number> {
  // The hash is the digest's first 4 bytes, as an unsigned 32-bit integer (etcd's field is a uint32).
  const h = createHash('sha256').update(DOMAIN);
  if (upto >= 1) {
    for await (const entries of scanPages(backend, { gte: recordKey(0, 0), lt: recordKey(upto + 1, 0) }, batchRecords, true)) {
      for (const [key, value] of entries) {
        const rec = decodeRecord(key, value);
        const main = rec.kv.modRevision;
        if (main <= compactRev && !keptUpTo(host.index, rec.kv.key, main, rec.sub, upto)) continue;
        // Record keys have a fixed length, so key then value needs no separator.
        h.update(key).update(value);
      }
    }
  }
  return h.digest().readUInt32BE(0);
}

/**
 * A record at or below the compaction revision counts when compaction kept it (the index still
 * holds it) and the key has no later revision up to `upto` (etcd's "keep" at the hashed revision).
 */
function keptUpTo(index: TreeIndex, key: Buffer, main: number, sub: number, upto: number): boolean {
  const ki = index.lookup(key);
  if (!ki) return false;
  let held = false;
  for (const r of ki.revisions()) {
    if (r.main === main && r.sub === sub) held = true;
    else if (r.main > main && r.main <= upto) return false;
  }
  return held;
}

/**
 * etcd's Hash: every backend entry (revisions, leases, auth, meta), in key order, from one
 * point-in-time view. Like etcd's, meant for tests: meta records (the index checkpoint's, say)
 * count too.
 */
export async function hashBackend(backend: Backend, batchRecords: number): Promise<number> {
  const h = createHash('sha256').update(Buffer.from('watchkv/backend'));
  const view = backend.snapshot();
  try {
    for (;;) {
      const entries = await view.next(batchRecords);
      if (entries.length === 0) break;
      for (const [key, value] of entries) {
        // Keys vary in length here, so each is preceded by its length.
        const len = Buffer.allocUnsafe(8);
        len.writeUInt32BE(key.length, 0);
        len.writeUInt32BE(value.length, 4);
        h.update(len).update(key).update(value);
      }
    }
  } finally {
    await view.close();
  }
  return h.digest().readUInt32BE(0);
}
