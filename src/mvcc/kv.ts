/**
 * Contracts of the MVCC store: the types every layer above speaks. No code lives here.
 *
 * Conventions (as etcd v3):
 * - Keys and values are Buffers compared bytewise.
 * - A range is `[key, rangeEnd)`:
 *     rangeEnd undefined      → the single key `key`;
 *     rangeEnd = "\0" (1 byte) → every key >= key (to +infinity);
 *     key = "\0", rangeEnd = "\0" → every key;
 *     rangeEnd <= key (bytewise) → the empty range.
 * - Revisions are integers. Revision 1 is the empty store; the first write is revision 2.
 *   A read at revision 0 means "the current revision".
 * - Every write transaction that changes something gets the next main revision; its operations
 *   get sub revisions 0, 1, 2, ... in operation order. A transaction that changes nothing (a
 *   delete of a missing key, an empty txn, a read-only txn) does not advance the revision.
 */

export interface KeyValue {
  readonly key: Buffer;
  /** Main revision of the put that created this generation of the key. */
  readonly createRevision: number;
  /** Main revision of the last put of the key. */
  readonly modRevision: number;
  /** 1 on create, +1 per put; a delete ends the generation and the next put starts at 1. */
  readonly version: number;
  readonly value: Buffer;
  /** Lease id, int64. 0n = no lease. With a lessor installed (lease-hook.ts) the lease exists. */
  readonly lease: bigint;
}

export type EventType = 'PUT' | 'DELETE';

/**
 * One change made by a committed write transaction. For a DELETE, `kv` holds only `key` and
 * `modRevision` (= the deletion revision); the other fields are zero/empty.
 * Event objects are immutable and shared: the watch layer hands the same object to every
 * watcher that gets it, so transports may memoise its encoding.
 */
export interface Event {
  readonly type: EventType;
  readonly kv: KeyValue;
  /** The key's value at revision kv.modRevision - 1; undefined for a create or when unknown. */
  readonly prevKv?: KeyValue;
  /**
   * A transport's memo of this event's wire encoding, so an event fanned out to many watchers
   * or replayed from recent history is encoded once. Not part of the event's value: the store
   * never reads it, and a copy of an event must not carry it over.
   */
  wire?: unknown;
}

export type SortOrder = 'NONE' | 'ASCEND' | 'DESCEND';
export type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';

export interface RangeOptions {
  /** Read at this revision; 0 or undefined = current. Below compacted → ERR_COMPACTED; above current → ERR_FUTURE_REV. */
  revision?: number;
  /** Most kvs returned; 0 = no limit. `more` tells whether more keys matched. */
  limit?: number;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  /** Return kvs without values. */
  keysOnly?: boolean;
  /** Return only `count`; no kvs. */
  countOnly?: boolean;
  /** Filters on the kvs (0 = no bound); they do not change `count`, as in etcd. */
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface RangeRequest extends RangeOptions {
  key: Buffer;
  rangeEnd?: Buffer;
  /**
   * etcd's serializable read: may be served from this member's local (possibly slightly stale)
   * state. The single-node store is always current and ignores it; a mirror of an etcd cluster
   * (src/upstream) serves it locally and forwards the linearizable default to etcd.
   */
  serializable?: boolean;
}

export interface RangeResult {
  /** The revision the read was served at (the header revision). */
  revision: number;
  kvs: KeyValue[];
  /** Number of keys in the range at that revision, before limit and filters. */
  count: number;
  /** True when a limit cut the result. */
  more: boolean;
}

export interface PutRequest {
  key: Buffer;
  value: Buffer;
  /**
   * Attach the key to this lease (0n/undefined: no lease, which detaches it). With a lessor
   * installed, an unknown lease → ERR_LEASE_NOT_FOUND.
   */
  lease?: bigint;
  /** Return the previous kv (if any) in the result. */
  prevKv?: boolean;
  /** Keep the current value; the key must exist (else ERR_KEY_NOT_FOUND). */
  ignoreValue?: boolean;
  /** Keep the current lease; the key must exist (else ERR_KEY_NOT_FOUND). */
  ignoreLease?: boolean;
}

export interface PutResult {
  /** The revision of the write (the header revision). */
  revision: number;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  prevKv?: boolean;
}

export interface DeleteRangeResult {
  /** The write's revision, or the unchanged current revision when nothing was deleted. */
  revision: number;
  deleted: number;
  /** Deleted kvs, when prevKv was asked for. */
  prevKvs: KeyValue[];
}

export type CompareTarget = 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE';
export type CompareResult = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';

/**
 * Compares the target of every key in the range with the given operand. With no key in the
 * range, VALUE compares fail and the others compare against a zero kv (so CREATE == 0 means
 * "absent"), exactly as etcd.
 */
export interface Compare {
  key: Buffer;
  rangeEnd?: Buffer;
  target: CompareTarget;
  result: CompareResult;
  version?: number;
  createRevision?: number;
  modRevision?: number;
  value?: Buffer;
  lease?: bigint;
}

export type RequestOp =
  | { range: RangeRequest }
  | { put: PutRequest }
  | { deleteRange: DeleteRangeRequest }
  | { txn: TxnRequest };

export type ResponseOp =
  | { range: RangeResult }
  | { put: PutResult }
  | { deleteRange: DeleteRangeResult }
  | { txn: TxnResult };

/**
 * All compares (including those of nested txns) are evaluated against the state before the txn;
 * ops then run in order, each seeing the writes of the ops before it. A key may not be written
 * twice in one branch (put+put, or a put inside a deleted range) → ERR_DUPLICATE_KEY.
 */
export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface TxnResult {
  /** The txn's revision: the new revision if it wrote, else the current one. */
  revision: number;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactResult {
  /** The current revision when the compaction was accepted. */
  revision: number;
}

/**
 * Called by the store, in revision order, after a write transaction is durable and before its
 * writer is acknowledged. `events` are the txn's changes in operation order, all with main
 * revision `revision`, with prevKv always filled (watchers that did not ask drop it).
 * The store does not know who listens; the watch layer is one listener.
 */
export type CommitListener = (revision: number, events: readonly Event[]) => void;

/**
 * Called when the store's published revision jumped to `revision` without commits for the
 * revisions in between (a mirror of an etcd cluster relisted after etcd compacted past it).
 * Those revisions can only be read through `history`, which fails with ERR_COMPACTED where
 * they are gone.
 */
export type ResetListener = (revision: number) => void;

/** A consistency hash of the store's history up to a revision (etcd's HashKV). */
export interface KvHash {
  /** A 32-bit hash: equal histories give equal hashes at the same revision. */
  hash: number;
  /** The compaction revision when the hash began; -1 before the first compaction, as etcd. */
  compactRevision: number;
  /** The current revision when the hash began (the response header's). */
  currentRevision: number;
}

/** One revision's changes, as read back from history. */
export interface RevisionChanges {
  revision: number;
  events: Event[];
}

/** The read side of the store, as the watch layer sees it. */
export interface HistoryReader {
  /** Highest revision that is durable and visible. */
  currentRevision(): number;
  /** Revisions below this one can no longer be read. 0 = nothing compacted. */
  compactRevision(): number;
  /**
   * The changes of revisions in [fromRevision, toRevision] (inclusive), grouped by revision in
   * ascending order; at most `maxRevisions` revisions. With `withPrevKv`, every non-create event
   * carries the key's previous value. fromRevision < compactRevision → ERR_COMPACTED (the
   * compaction revision itself is still complete).
   */
  history(
    fromRevision: number,
    toRevision: number,
    options?: { maxRevisions?: number; withPrevKv?: boolean },
  ): Promise<RevisionChanges[]>;
}

/** etcd's alarm types (etcdserverpb.AlarmType); NONE in a GET means "every type". */
export type AlarmType = 'NONE' | 'NOSPACE' | 'CORRUPT';

/** One raised alarm: which member raised it (a uint64, as etcd) and what it is. */
export interface AlarmMember {
  memberId: bigint;
  alarm: AlarmType;
}

/** Maintenance.Alarm: list, raise or disarm alarms. */
export interface AlarmRequest {
  action: 'GET' | 'ACTIVATE' | 'DEACTIVATE';
  memberId: bigint;
  alarm: AlarmType;
}

/** The whole store, as the server sees it. */
export interface KV extends HistoryReader {
  range(req: RangeRequest): Promise<RangeResult>;
  put(req: PutRequest): Promise<PutResult>;
  deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResult>;
  txn(req: TxnRequest): Promise<TxnResult>;
  /**
   * Compacts history up to `revision`: reads below it fail afterwards. Keeps, for each key, the
   * newest version at or below it. `physical` waits until the records are deleted from disk.
   * revision <= compactRevision → ERR_COMPACTED; revision > current → ERR_FUTURE_REV.
   */
  compact(revision: number, physical?: boolean): Promise<CompactResult>;
  onCommit(listener: CommitListener): () => void;
  /** Only stores whose history can jump (see ResetListener) have it. */
  onReset?(listener: ResetListener): () => void;
  /** Approximate bytes used on disk. */
  dbSize(): Promise<number>;
  /**
   * etcd's Maintenance calls, for stores whose records are local (not the upstream mirror):
   * HashKV (see kv-hash.ts), Hash (every stored record) and Defragment (give back the disk
   * space of deleted and compacted records).
   */
  hashKv?(revision: number): Promise<KvHash>;
  hashAll?(): Promise<number>;
  defragment?(): Promise<void>;
  /**
   * etcd's alarms (Maintenance.Alarm): GET lists them (of one type, or all for NONE), ACTIVATE
   * raises one, DEACTIVATE disarms one; the answer is what was listed, raised or disarmed. While
   * NOSPACE is raised, writes that add data fail with ERR_NO_SPACE; while CORRUPT is, every write
   * fails with ERR_CORRUPT_ALARM (see alarm-store.ts).
   */
  alarm(req: AlarmRequest): Promise<AlarmMember[]>;
  close(): Promise<void>;
}
