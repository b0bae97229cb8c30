/**
 * The lessor: grants, revokes, keep-alives and expiry of leases, as etcd 3.4's `lease/lessor.go`
 * behaves, over the store's lease seam (mvcc/lease-hook.ts).
 *
 *   live      id → lease (granted TTL, deadline, attached keys); the live leases
 *   keyLease  key → lease id, for every live key that has one; the store reports each change
 *             (LeaseHook) under its txn lock, so this is always the index's view
 *   expiry    min-heap of (deadline, lease), at most one entry per lease (`queued`). A renewal
 *             only moves the lease's deadline; when its old entry surfaces, the lease is queued
 *             again at the new deadline. So a client renewing in a tight loop costs no memory.
 *
 * A lease's state follows its record, as the store's reads follow the durable revision:
 *
 *   granting ──grant durable──▶ live ──revoke applied (txn lock)──▶ revoking ──durable──▶ (gone)
 *       └─ batch failed: gone              ▲                              │
 *                                          └────── batch failed ──────────┘
 *
 * Puts may attach to a granting or live lease (their batch is the grant's or a later one, so it
 * cannot outlive a failed grant). Reads (leases, timeToLive, renew) see live and revoking leases,
 * never a granting one: no answer reveals a lease that a failed batch could take back, and a
 * revoked lease stays visible exactly as long as its keys (deleted in the same batch) do.
 *
 * Invariants:
 * - A lease is in `live` iff its record is in the backend, or its grant is on the way to disk in
 *   the same batch as the writes that depend on it (a failed batch is undone).
 * - Grant, revoke and the lease-exists check of a put all run under the store's txn lock, so a
 *   put racing a revoke either attaches before the revoke sweeps the keys (and is deleted with
 *   them) or fails with ERR_LEASE_NOT_FOUND; it never attaches to a dead lease.
 * - A revoke deletes the lease's keys (sorted, as etcd) in one revision and deletes its record
 *   in the same atomic backend batch.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULTS } from '../config.ts';
import { isKvError, kvError } from '../errors.ts';
import type { LeaseHook, LeaseHost, LeaseMove } from '../mvcc/lease-hook.ts';
import { MinHeap } from '../lib/min-heap.ts';
import type { LeaseGrant, LeaseTimeToLive, Lessor } from './lease-api.ts';
import { decodeLeaseRecord, deleteLeaseRecord, putLeaseRecord } from './lease-record.ts';
import { ExpiryLoop } from './expiry-loop.ts';

export interface LessorOptions {
  /** s: shorter TTLs are raised to this. */
  minLeaseTtlSeconds: number;
  /** s: longer TTLs fail with ERR_LEASE_TTL_TOO_LARGE. */
  maxLeaseTtlSeconds: number;
  /** ms: how often the expiry loop looks for expired leases. */
  leaseCheckIntervalMs: number;
  /** leases: most expired leases revoked at once before yielding. */
  leaseRevokeBatch: number;
  /** Monotonic clock in ms (tests pass a fake one). */
  now: () => number;
}

interface Lease {
  readonly id: bigint;
  readonly ttlSeconds: number;
  /** ms on options.now()'s clock. */
  deadline: number;
  /** Attached keys as latin1 strings (byte order = string order). */
  readonly keys: Set<string>;
  state: 'granting' | 'live' | 'revoking';
  /** Set while an expiry revoke of this lease is in flight. */
  expiring?: Promise<void>;
  /** True while the lease has its (one) entry in the expiry queue. */
  queued: boolean;
}

/** Opens the lessor on a store: loads the lease records, installs the hook, starts expiry. */
export async function openLessor(host: LeaseHost, options: Partial<LessorOptions> = {}): Promise<LessorImpl> {
  const lessor = new LessorImpl(host, {
    minLeaseTtlSeconds: options.minLeaseTtlSeconds ?? DEFAULTS.minLeaseTtlSeconds,
    maxLeaseTtlSeconds: options.maxLeaseTtlSeconds ?? DEFAULTS.maxLeaseTtlSeconds,
    leaseCheckIntervalMs: options.leaseCheckIntervalMs ?? DEFAULTS.leaseCheckIntervalMs,
    leaseRevokeBatch: options.leaseRevokeBatch ?? DEFAULTS.leaseRevokeBatch,
    now: options.now ?? (() => performance.now()),
  });
  await lessor.load();
  return lessor;
}

export class LessorImpl implements Lessor, LeaseHook {
  private readonly live = new Map<bigint, Lease>();
  private keyLease = new Map<string, bigint>();
  private readonly expiry = new MinHeap<Lease>();
  private readonly loop: ExpiryLoop;
  private closed = false;

  constructor(
    private readonly host: LeaseHost,
    private readonly options: LessorOptions,
  ) {
    this.loop = new ExpiryLoop(
      { expired: (max) => this.takeExpired(max), revoke: (id) => this.expire(id) },
      { intervalMs: options.leaseCheckIntervalMs, batch: options.leaseRevokeBatch },
    );
  }

  /** Every recorded lease gets its full TTL from now; then the store reports attachments. */
  async load(): Promise<void> {
    const now = this.options.now();
    for (const [key, value] of await this.host.scanLeaseRecords()) {
      const { id, ttlSeconds } = decodeLeaseRecord(key, value);
      this.add({ id, ttlSeconds, deadline: now + ttlSeconds * 1000, keys: new Set(), queued: false, state: 'live' });
    }
    await this.host.setLeaseHook(this);
    this.loop.start();
  }

  // ---- Lessor ----

  async grant(id: bigint, ttlSeconds: number): Promise<LeaseGrant> {
    this.checkOpen();
    // etcd's order: a too large TTL, then an existing id; a short TTL is raised silently.
    if (ttlSeconds > this.options.maxLeaseTtlSeconds) throw kvError('ERR_LEASE_TTL_TOO_LARGE');
    const ttl = Math.max(Math.trunc(ttlSeconds), this.options.minLeaseTtlSeconds);
    let lease!: Lease;
    const { revision } = await this.host
      .leaseWrite(() => {
        const chosen = id === 0n ? this.freshId() : id;
        if (this.live.has(chosen)) throw kvError('ERR_LEASE_EXISTS');
        lease = { id: chosen, ttlSeconds: ttl, deadline: this.options.now() + ttl * 1000, keys: new Set(), queued: false, state: 'granting' };
        this.add(lease);
        return { ops: [putLeaseRecord(chosen, ttl)], result: undefined };
      }, 'grant')
      .catch((err) => {
        // The record never reached the disk: the lease must not exist either.
        if (lease && this.live.get(lease.id) === lease) this.live.delete(lease.id);
        throw err;
      });
    if (lease.state === 'granting') lease.state = 'live';
    this.schedule(lease);
    return { id: lease.id, ttlSeconds: ttl, revision };
  }

  async revoke(id: bigint): Promise<{ revision: number }> {
    this.checkOpen();
    return this.revokeLease(id);
  }

  async renew(id: bigint): Promise<number> {
    this.checkOpen();
    const lease = this.visible(id);
    if (!lease || lease.state === 'revoking') return 0;
    if (lease.deadline <= this.options.now()) {
      // Expired but not swept yet: as etcd, wait for the revoke, then it is not found.
      await this.expire(id).catch(() => {});
      return 0;
    }
    lease.deadline = this.options.now() + lease.ttlSeconds * 1000; // its queue entry follows lazily
    return lease.ttlSeconds;
  }

  timeToLive(id: bigint, withKeys: boolean): LeaseTimeToLive {
    this.checkOpen();
    const lease = this.visible(id);
    if (!lease) return { id, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] };
    // etcd: int64(remaining.Seconds()), truncated; an expired lease awaiting its revoke shows 0.
    const remaining = Math.max(0, Math.trunc((lease.deadline - this.options.now()) / 1000));
    const keys = withKeys ? [...lease.keys].sort().map((k) => Buffer.from(k, 'latin1')) : [];
    return { id, ttlSeconds: remaining, grantedTtlSeconds: lease.ttlSeconds, keys };
  }

  leases(): bigint[] {
    // etcd lists leases by expiry (soonest first); ties by id, so the order is stable.
    return [...this.live.values()]
      .filter((l) => l.state !== 'granting')
      .sort((a, b) => a.deadline - b.deadline || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((l) => l.id);
  }

  leaseOfKey(key: Buffer): bigint {
    return this.keyLease.get(key.toString('latin1')) ?? 0n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.loop.stop();
  }

  // ---- LeaseHook (called by the store under its txn lock) ----

  leaseExists(id: bigint): boolean {
    const lease = this.live.get(id);
    return lease !== undefined && lease.state !== 'revoking';
  }

  keysMoved(moves: readonly LeaseMove[]): void {
    for (const { key, from, to } of moves) {
      const k = key.toString('latin1');
      if (from !== 0n) {
        this.live.get(from)?.keys.delete(k);
        this.keyLease.delete(k);
      }
      if (to !== 0n) {
        this.live.get(to)?.keys.add(k);
        this.keyLease.set(k, to);
      }
    }
  }

  reattach(attached: ReadonlyArray<{ key: Buffer; lease: bigint }>): void {
    for (const lease of this.live.values()) lease.keys.clear();
    this.keyLease = new Map();
    for (const { key, lease } of attached) {
      const k = key.toString('latin1');
      this.keyLease.set(k, lease);
      // A key naming a lease with no record (data written without a lessor) stays as it is,
      // as etcd leaves it: nothing will revoke it.
      this.live.get(lease)?.keys.add(k);
    }
  }

  // ---- internals ----

  /** Deletes the lease's keys in one revision and its record, in one atomic batch. */
  private async revokeLease(id: bigint): Promise<{ revision: number }> {
    let lease: Lease | undefined;
    const { revision } = await this.host
      .leaseWrite((tx) => {
        lease = this.live.get(id);
        if (!lease || lease.state === 'revoking') throw kvError('ERR_LEASE_NOT_FOUND');
        for (const k of [...lease.keys].sort()) tx.deleteRange({ key: Buffer.from(k, 'latin1') });
        lease.state = 'revoking'; // no put attaches from here on
        return { ops: [deleteLeaseRecord(id)], result: undefined };
      })
      .catch((err) => {
        // The batch did not reach the disk: the lease is still recorded, so it lives on. Its keys
        // come back with the store's rebuild of attachments, which follows every failed batch.
        if (lease?.state === 'revoking') {
          lease.state = 'live';
          this.schedule(lease);
        }
        throw err;
      });
    if (this.live.get(id) === lease) this.live.delete(id);
    return { revision };
  }

  /** Revokes an expired lease once, however many callers (the loop, renewals) ask. */
  private expire(id: bigint): Promise<void> {
    const lease = this.live.get(id);
    if (!lease) return Promise.resolve();
    lease.expiring ??= this.revokeLease(id).then(
      () => undefined,
      (err) => {
        lease.expiring = undefined;
        if (isKvError(err, 'ERR_LEASE_NOT_FOUND')) return; // revoked meanwhile by a client
        // Storage trouble: the lease lives on and is retried on a later pass.
        if (this.live.get(id) === lease) this.schedule(lease);
        throw err;
      },
    );
    return lease.expiring;
  }

  /**
   * Pops up to `max` leases whose deadline passed. An entry of a renewed lease re-queues it at
   * its new deadline; an entry of a lease that is gone (or being revoked) is dropped.
   */
  private takeExpired(max: number): bigint[] {
    const now = this.options.now();
    const out: bigint[] = [];
    while (out.length < max) {
      const at = this.expiry.peekPriority();
      if (at === undefined || at > now) break;
      const lease = this.expiry.pop()!.value;
      lease.queued = false;
      if (this.live.get(lease.id) !== lease || lease.state !== 'live' || lease.expiring) continue;
      if (lease.deadline > now) this.schedule(lease);
      else out.push(lease.id);
    }
    return out;
  }

  /** Runs an expiry pass now (tests with a fake clock). */
  expireNow(): Promise<void> {
    return this.loop.kick();
  }

  /** The lease as reads may see it: not while its grant is on its way to disk. */
  private visible(id: bigint): Lease | undefined {
    const lease = this.live.get(id);
    return lease && lease.state !== 'granting' ? lease : undefined;
  }

  private add(lease: Lease): void {
    this.live.set(lease.id, lease);
    this.schedule(lease);
  }

  private schedule(lease: Lease): void {
    if (lease.queued) return;
    lease.queued = true;
    this.expiry.push(lease.deadline, lease);
  }

  /** Entries in the expiry queue (tests: it stays about one per lease). */
  queuedEntries(): number {
    return this.expiry.size;
  }

  /** A fresh positive int64 id, as etcd picks one (it never hands out 0 or negatives). */
  private freshId(): bigint {
    for (;;) {
      const id = randomBytes(8).readBigUInt64BE(0) & 0x7fff_ffff_ffff_ffffn;
      if (id !== 0n && !this.live.has(id)) return id;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw kvError('ERR_STOPPED');
  }
}
