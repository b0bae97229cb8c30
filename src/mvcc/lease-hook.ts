/**
 * Contracts between the store and a lessor. No code lives here. The store defines them and the
 * lessor (src/lease) implements LeaseHook; the store never imports src/lease.
 *
 * Why a hook and not a wrapper: whether a lease exists and which keys it holds must be decided
 * under the store's txn lock, in the same turn as the write that changes them. Otherwise a put
 * racing a revoke could attach a key to a lease the revoke has already swept, and that key would
 * outlive its lease forever.
 *
 * Every hook method is called under the txn lock and must be synchronous and cheap. The hook is
 * installed after the store opens (setLeaseHook), not as an open option: the lessor reads its
 * own records through the store before it can answer for them.
 */
import type { BatchOp } from '../backend/backend.ts';
import type { DeleteRangeRequest, DeleteRangeResult } from './kv.ts';

/** A key whose lease changed in an applied txn: `from` → `to` (0n = none). */
export interface LeaseMove {
  readonly key: Buffer;
  readonly from: bigint;
  readonly to: bigint;
}

export interface LeaseHook {
  /**
   * A put names lease `id` (not 0n): may it attach? False fails the put (a txn: the whole txn)
   * with ERR_LEASE_NOT_FOUND before anything changes.
   */
  leaseExists(id: bigint): boolean;
  /**
   * A write txn was applied in memory (it is on its way to disk). `moves` lists, in operation
   * order, every key whose lease changed: put with another lease, put without lease, delete.
   * Not called for a txn that changed nothing.
   */
  keysMoved(moves: readonly LeaseMove[]): void;
  /**
   * The store (re)built its index — at install time and after a storage recovery — and this is
   * the truth now: every live key that has a lease, in key order. Forget earlier moves.
   */
  reattach(attached: ReadonlyArray<{ key: Buffer; lease: bigint }>): void;
}

/** What a lessor may do inside a write txn of its own (a revoke). */
export interface LeaseTxn {
  deleteRange(req: DeleteRangeRequest): DeleteRangeResult;
}

/** The store's side of the contract, as the lessor sees it. */
export interface LeaseHost {
  /**
   * Installs the hook (one at a time) and calls its `reattach` under the txn lock. From then on
   * puts naming a lease are checked with it.
   */
  setLeaseHook(hook: LeaseHook): Promise<void>;
  /**
   * Runs `body` under the txn lock as one write txn. Its key deletions (one revision when there
   * are any) and the backend ops it returns are committed in ONE atomic backend batch. Resolves
   * once durable, with body's result and the txn's revision (the current one when no key was
   * deleted). A throw in body changes nothing. `purpose` is what raised alarms judge: a grant
   * adds data (refused under NOSPACE), a revoke does not (refused only under CORRUPT).
   */
  leaseWrite<T>(body: (tx: LeaseTxn) => { ops: BatchOp[]; result: T }, purpose?: 'grant' | 'revoke'): Promise<{ result: T; revision: number }>;
  /** Every backend record whose key starts with LEASE_PREFIX (kv-codec.ts), in key order. */
  scanLeaseRecords(): Promise<Array<[Buffer, Buffer]>>;
  /** Highest durable revision. */
  currentRevision(): number;
}
