/**
 * Small helpers for asserting on KV results (src/mvcc/kv.ts) with exact deep equality: `plain`
 * turns Buffers into strings and bigints into numbers and drops undefined fields (so an absent
 * prevKv and `prevKv: undefined` compare equal, whichever an implementation returns), and `kvOf`
 * writes the expected KeyValue in the same form.
 */
import type { KeyValue } from '../../src/mvcc/kv.ts';

export const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** key "\0" with rangeEnd "\0": every key. */
export const ZERO = Buffer.of(0);

export function plain(x: unknown): any {
  if (Buffer.isBuffer(x)) return x.toString('latin1');
  if (typeof x === 'bigint') return Number(x);
  if (Array.isArray(x)) return x.map(plain);
  if (x !== null && typeof x === 'object') {
    // `wire` is a transport's memo on events (kv.ts Event), not part of their value.
    return Object.fromEntries(Object.entries(x).filter(([k, v]) => v !== undefined && k !== 'wire').map(([k, v]) => [k, plain(v)]));
  }
  return x;
}

/** The plain form of a KeyValue without a lease. */
export function kvOf(key: string, value: string, createRevision: number, modRevision: number, version: number): object {
  return { key, createRevision, modRevision, version, value, lease: 0 };
}

/** The plain form of a DELETE event's kv: only the key and the deletion revision. */
export function tombstone(key: string, modRevision: number): object {
  return { key, createRevision: 0, modRevision, version: 0, value: '', lease: 0 };
}

export const keysOf = (kvs: readonly KeyValue[]): string[] => kvs.map((kv) => kv.key.toString('latin1'));
