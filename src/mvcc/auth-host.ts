/**
 * The store's side of the auth store's seam (src/auth implements the rest; the store never
 * imports it). Like the lessor's (lease-hook.ts), auth state lives in the store's backend under
 * its own prefix (AUTH_PREFIX in kv-codec.ts) and is written through the store's write path:
 * each change is one atomic backend batch, ordered with every other write, durable (fsynced)
 * before the promise resolves — so an acknowledged user/role change survives kill -9.
 */
import type { BatchOp } from '../backend/backend.ts';

export interface AuthHost {
  /**
   * Runs `body` under the txn lock (synchronously: decide and mutate the in-memory auth state
   * there, so concurrent changes apply in one order) and commits the backend ops it returns in
   * ONE batch, without a key revision. Resolves with body's result once durable. A throw in
   * body changes nothing. Keys of the ops must start with AUTH_PREFIX.
   */
  authWrite<T>(body: () => { ops: BatchOp[]; result: T }): Promise<T>;
  /** Every backend record whose key starts with AUTH_PREFIX, in key order. */
  scanAuthRecords(): Promise<Array<[Buffer, Buffer]>>;
  /** Highest durable key revision (the header of auth answers). */
  currentRevision(): number;
}
