/**
 * Contracts of the lessor: the lease core every transport (HTTP gateway, WebSocket, gRPC) talks
 * to. No code lives here. Semantics follow etcd 3.4's `server/lease` and v3rpc answers:
 *
 * - Lease ids are int64 (bigint). Granting with id 0 lets the server pick a fresh positive id.
 * - TTLs are whole seconds. A TTL below the minimum (etcd: 2 s for its default election
 *   timeout) is raised to it, 0 and negatives included; above MAX_LEASE_TTL_S → ERR_LEASE_TTL_TOO_LARGE.
 * - Revoking (or expiry) deletes every key attached to the lease in ONE write revision, through
 *   the store's own write path, so watchers see DELETE events. A lease with no keys revokes
 *   without a new revision.
 * - Keys attach with `put {lease}`; a put without lease (and without ignore_lease) detaches;
 *   deleting a key detaches it. Putting with an unknown lease → ERR_LEASE_NOT_FOUND.
 * - Leases are durable; after a restart every lease gets its full granted TTL again (a lease
 *   never expires early because the server was down), as etcd does on a new leader.
 */

export interface LeaseGrant {
  id: bigint;
  /** The TTL actually granted (after raising to the minimum), in seconds. */
  ttlSeconds: number;
  /** The store's current revision after the grant (the response header's revision). */
  revision: number;
}

export interface LeaseTimeToLive {
  id: bigint;
  /** Seconds left before expiry (rounded as etcd does); -1 when the lease does not exist. */
  ttlSeconds: number;
  /** The TTL the lease was granted with; 0 when the lease does not exist. */
  grantedTtlSeconds: number;
  /** Attached keys, when asked for (sorted bytewise). */
  keys: Buffer[];
}

export interface Lessor {
  /** Grants a lease; id 0n = pick one. Duplicate id → ERR_LEASE_EXISTS. */
  grant(id: bigint, ttlSeconds: number): Promise<LeaseGrant>;
  /**
   * Revokes: deletes the attached keys in one revision, then forgets the lease. Unknown id →
   * ERR_LEASE_NOT_FOUND. Resolves with the store's revision after the revoke.
   */
  revoke(id: bigint): Promise<{ revision: number }>;
  /**
   * Keep-alive: resets the lease's deadline to now + its granted TTL and returns that TTL.
   * An unknown or expired lease returns 0 (etcd answers TTL 0, not an error).
   */
  renew(id: bigint): Promise<number>;
  /**
   * Remaining and granted TTL; an unknown lease answers ttlSeconds -1. The local lessor answers
   * at once; a lessor that forwards to etcd (src/upstream) answers with a promise.
   */
  timeToLive(id: bigint, withKeys: boolean): LeaseTimeToLive | Promise<LeaseTimeToLive>;
  /** Every live lease id, soonest expiry first (as etcd lists them), ties by id. */
  leases(): bigint[] | Promise<bigint[]>;
  /** The lease a key is attached to right now, or 0n. */
  leaseOfKey(key: Buffer): bigint;
  /** Stops the expiry loop. The store is closed by its owner. */
  close(): Promise<void>;
}
