/**
 * A revision names one change: `main` is the write transaction's revision, `sub` the operation's
 * index inside it. Backend records are keyed by the revision's 16-byte big-endian encoding so
 * that byte order equals revision order and a stretch of history is one range scan.
 */

export interface Revision {
  readonly main: number;
  readonly sub: number;
}

/** Bytes of an encoded revision: main and sub as unsigned 64-bit big-endian integers. */
export const REVISION_BYTES = 16;

export function compareRevisions(a: Revision, b: Revision): number {
  return a.main !== b.main ? a.main - b.main : a.sub - b.sub;
}

/** Writes `rev` at `offset` of `buf`. Revisions stay below 2^53, so the high word fits easily. */
export function writeRevision(buf: Buffer, offset: number, main: number, sub: number): void {
  buf.writeUInt32BE(Math.floor(main / 0x1_0000_0000), offset);
  buf.writeUInt32BE(main >>> 0, offset + 4);
  buf.writeUInt32BE(Math.floor(sub / 0x1_0000_0000), offset + 8);
  buf.writeUInt32BE(sub >>> 0, offset + 12);
}

export function readRevision(buf: Buffer, offset: number): Revision {
  const main = buf.readUInt32BE(offset) * 0x1_0000_0000 + buf.readUInt32BE(offset + 4);
  const sub = buf.readUInt32BE(offset + 8) * 0x1_0000_0000 + buf.readUInt32BE(offset + 12);
  return { main, sub };
}

/**
 * etcd's first readable revision for a store compacted at `compactRevision` (0: never), which a
 * negative revision (a txn's range, a watch's start) is compared with: -1 until the first
 * compaction, so -1 then means the current revision and anything lower is compacted.
 */
export function firstReadableRevision(compactRevision: number): number {
  return compactRevision === 0 ? -1 : compactRevision;
}

/** A string key for maps of revisions (JS maps cannot key on value objects). */
export function revisionKey(main: number, sub: number): string {
  return `${main}.${sub}`;
}
