/**
 * Seeded random lease operations for the lease differential test against a real etcd 3.4. Each
 * sequence has its own key prefix (`/L0042/`) and its own lease ids (sequence × 1000 + n), so
 * ids chosen by the client are equal on both servers; a grant with ID 0 lets each server pick,
 * and the runner maps watchkv's pick onto etcd's (`slots`).
 *
 * Ordinary leases get long TTLs so nothing expires by surprise mid-sequence; short TTLs (the
 * minimum, 0, negatives) go through the `expire` op, which waits for both servers to revoke.
 */
import type { Rng } from './rng.ts';
import { b64 } from './http-client.ts';
import { prefixEnd as prefixEndOf } from './etcd-sequence.ts';

/** A lease the sequence granted (or tried to). `id` is etcd's id; `wk` is watchkv's. */
export interface LeaseSlot {
  id: string;
  wk: string;
  live: boolean;
}

export type LeaseOp =
  | { kind: 'unary'; path: string; body: (t: 'e' | 'w') => any; autoId?: boolean; slot?: LeaseSlot }
  | { kind: 'keepalive'; ids: (t: 'e' | 'w') => string[]; websocket?: boolean }
  | { kind: 'expire'; id: string; ttl: number; keys: string[]; keepalive: boolean };

export const UNKNOWN_LEASE = '987654321';

export class LeaseSequenceGen {
  readonly prefix: string;
  readonly slots: LeaseSlot[] = [];
  private readonly keys: string[];
  private nextId: number;

  constructor(
    private readonly rng: Rng,
    readonly index: number,
  ) {
    this.prefix = `/L${String(index).padStart(5, '0')}/`;
    this.keys = ['a', 'b', 'c', 'd/1', 'd/2'].map((k) => this.prefix + k);
    this.nextId = (index + 1) * 1000;
  }

  get range(): { key: string; range_end: string } {
    return { key: b64(this.prefix), range_end: prefixEndOf(this.prefix) };
  }

  private key(): string {
    return this.rng.pick(this.keys);
  }

  private live(): LeaseSlot[] {
    return this.slots.filter((s) => s.live);
  }

  /** A lease reference: mostly a live one, sometimes a revoked or never-granted one. */
  private leaseRef(): (t: 'e' | 'w') => string {
    const r = this.rng;
    const live = this.live();
    const dead = this.slots.filter((s) => !s.live);
    const c = r.int(0, 9);
    if (c < 7 && live.length > 0) {
      const s = r.pick(live);
      return (t) => (t === 'e' ? s.id : s.wk);
    }
    if (c < 9 && dead.length > 0) {
      const s = r.pick(dead);
      return (t) => (t === 'e' ? s.id : s.wk);
    }
    return () => UNKNOWN_LEASE;
  }

  private grant(): LeaseOp {
    const r = this.rng;
    const ttl = r.pick([30, 60, 3600, '120', 9_000_000_000, 9_000_000_001]);
    const live = this.live();
    if (live.length > 0 && r.chance(0.1)) {
      const s = r.pick(live);
      return { kind: 'unary', path: '/v3/lease/grant', body: (t) => ({ TTL: ttl, ID: t === 'e' ? s.id : s.wk }) };
    }
    if (r.chance(0.15)) {
      const slot: LeaseSlot = { id: '', wk: '', live: false };
      return { kind: 'unary', path: '/v3/lease/grant', body: () => ({ TTL: ttl }), autoId: true, slot };
    }
    const id = String(this.nextId++);
    const slot: LeaseSlot = { id, wk: id, live: false };
    return { kind: 'unary', path: '/v3/lease/grant', body: () => ({ TTL: ttl, ID: r.chance(0.5) ? id : Number(id) }), slot };
  }

  private put(): any {
    const r = this.rng;
    const lease = r.chance(0.8) ? this.leaseRef() : undefined;
    const ignoreLease = !lease && r.chance(0.2);
    const prevKv = r.chance(0.3);
    const key = this.key();
    const value = b64(`v${r.int(0, 9)}`);
    return (t: 'e' | 'w') => ({ key: b64(key), value, ...(lease ? { lease: lease(t) } : {}), ...(ignoreLease ? { ignore_lease: true } : {}), ...(prevKv ? { prev_kv: true } : {}) });
  }

  next(): LeaseOp {
    const r = this.rng;
    const c = r.int(0, 99);
    if (c < 22 || this.slots.length === 0) return this.grant();
    if (c < 42) {
      const body = this.put();
      return { kind: 'unary', path: '/v3/kv/put', body };
    }
    if (c < 50) {
      const [a, b] = [this.put(), this.put()];
      const cmpKey = this.key();
      const lease = this.leaseRef();
      return {
        kind: 'unary',
        path: '/v3/kv/txn',
        body: (t) => ({
          compare: [{ key: b64(cmpKey), target: 'VERSION', result: 'GREATER', version: 0 }],
          success: [{ request_put: a(t) }],
          failure: [{ request_put: b(t) }, { request_put: { key: b64(this.prefix + 'z'), lease: lease(t) } }],
        }),
      };
    }
    if (c < 56) {
      const k = this.key();
      const prev = r.chance(0.5);
      return { kind: 'unary', path: '/v3/kv/deleterange', body: () => ({ key: b64(k), ...(prev ? { prev_kv: true } : {}) }) };
    }
    if (c < 62) return { kind: 'unary', path: '/v3/kv/range', body: () => this.range };
    if (c < 72) {
      const refs = Array.from({ length: r.int(1, 2) }, () => this.leaseRef());
      return { kind: 'keepalive', ids: (t) => refs.map((f) => f(t)), websocket: r.chance(0.4) };
    }
    if (c < 82) {
      const ref = this.leaseRef();
      const path = r.pick(['/v3/lease/revoke', '/v3/kv/lease/revoke']);
      return { kind: 'unary', path, body: (t) => ({ ID: ref(t) }) };
    }
    if (c < 92) {
      const ref = this.leaseRef();
      const keys = r.chance(0.6);
      const path = r.pick(['/v3/lease/timetolive', '/v3/kv/lease/timetolive']);
      return { kind: 'unary', path, body: (t) => ({ ID: ref(t), ...(keys ? { keys: true } : {}) }) };
    }
    if (c < 97) return { kind: 'unary', path: r.pick(['/v3/lease/leases', '/v3/kv/lease/leases']), body: () => ({}) };
    return this.expire();
  }

  /** A short lease (TTL raised to the 2 s minimum) with 0-3 keys, left to expire. */
  expire(): LeaseOp {
    const r = this.rng;
    const id = String(this.nextId++);
    const keys = [...new Set(Array.from({ length: r.int(0, 3) }, () => this.key()))];
    return { kind: 'expire', id, ttl: r.pick([-3, 0, 1, 2]), keys, keepalive: r.chance(0.3) };
  }
}
