/**
 * The storage seam: an ordered, durable map of byte keys to byte values. The MVCC store keeps
 * every record here; it needs nothing more than atomic batches, point reads and ordered scans.
 * Implementations: level-backend.ts (LevelDB via `level`, the default) and memory-backend.ts
 * (for fast unit tests). Both pass test/contracts/backend-contract.ts.
 */

export type BatchOp =
  | { type: 'put'; key: Buffer; value: Buffer }
  | { type: 'del'; key: Buffer };

export interface ScanOptions {
  /** Inclusive lower bound; undefined = from the first key. */
  gte?: Buffer;
  /** Exclusive upper bound; undefined = to the last key. */
  lt?: Buffer;
  /** Most entries returned by one call; the caller pages with gte = last key + "\0". */
  limit: number;
  /** Descending order (from lt downwards). */
  reverse?: boolean;
}

/** A point-in-time view of a whole backend, read forwards once (backup). */
export interface BackendSnapshot {
  /** Up to `max` entries in key order, continuing after the last call; [] once past the end. */
  next(max: number): Promise<Array<[Buffer, Buffer]>>;
  /** Releases the view (LevelDB keeps the files it needs alive until then). Idempotent. */
  close(): Promise<void>;
}

export interface Backend {
  /** The directory holding the data, when there is one: side files (the index checkpoint) go there. */
  readonly dir?: string;
  /** Creates the store if missing. Opening twice, or a directory locked by another process, fails. */
  open(): Promise<void>;
  /** Waits for in-flight writes, then releases the files. Idempotent. */
  close(): Promise<void>;
  /**
   * Applies all ops atomically: after a crash either all or none are present. Resolves only
   * once the batch is on stable storage (fsync), so an acknowledged write survives kill -9 and
   * power loss. Rejects (and applies nothing) when the disk refuses the write. An empty batch
   * writes nothing but is refused like any write while the backend cannot take writes (after a
   * failure it first tries to recover), so it serves as a cheap "writable again?" probe.
   */
  write(ops: readonly BatchOp[]): Promise<void>;
  /** The value stored at key, or undefined. */
  get(key: Buffer): Promise<Buffer | undefined>;
  /** Values for many keys in one round trip, in the same order; undefined where missing. */
  getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]>;
  /** Up to `limit` entries in key order within the bounds. */
  scan(options: ScanOptions): Promise<Array<[Buffer, Buffer]>>;
  /**
   * Every entry as of this call, whatever is written afterwards: the view is taken synchronously,
   * before snapshot() returns. The caller must close it.
   */
  snapshot(): BackendSnapshot;
  /**
   * Rewrites the storage files so the space of deleted and overwritten entries is given back
   * (etcd's defragment; LevelDB's compactRange over every key). Reads and writes go on meanwhile.
   */
  compactFiles(): Promise<void>;
  /** Approximate bytes used by the data in [gte, lt) (whole store when omitted). */
  approximateSize(): Promise<number>;
}
