/**
 * etcd gateway JSON for the Lease service. Field names are the proto's own (`ID`, `TTL`,
 * `grantedTTL`, `keys`): the gateway accepts exactly these, so `ttl` or `id` are unknown fields
 * and ignored, as etcd ignores them. int64s are strings on output; zero fields are omitted.
 */
import type { LeaseGrant, LeaseTimeToLive } from '../lease/lease-api.ts';
import { encodeHeader, type Identity } from './json.ts';
import { readBigInt, readBool, type JsonObject } from './json-read.ts';

function int(name: string, n: number | bigint): string {
  return n === 0 || n === 0n ? '' : `,"${name}":"${n}"`;
}

export interface LeaseGrantRequest {
  id: bigint;
  /** Seconds; beyond the safe-integer range only its magnitude matters (too large / raised). */
  ttlSeconds: number;
}

export function decodeLeaseGrant(o: JsonObject): LeaseGrantRequest {
  return { id: readBigInt(o, 'ID'), ttlSeconds: Number(readBigInt(o, 'TTL')) };
}

/** LeaseRevokeRequest and LeaseKeepAliveRequest: just `ID`. */
export function decodeLeaseId(o: JsonObject): bigint {
  return readBigInt(o, 'ID');
}

export function decodeLeaseTimeToLive(o: JsonObject): { id: bigint; keys: boolean } {
  return { id: readBigInt(o, 'ID'), keys: readBool(o, 'keys') };
}

export function encodeLeaseGrant(id: Identity, g: LeaseGrant): string {
  return `{"header":${encodeHeader(id, g.revision)}${int('ID', g.id)}${int('TTL', g.ttlSeconds)}}`;
}

export function encodeLeaseTimeToLive(id: Identity, revision: number, t: LeaseTimeToLive): string {
  const keys = t.keys.length > 0 ? `,"keys":[${t.keys.map((k) => `"${k.toString('base64')}"`).join(',')}]` : '';
  return `{"header":${encodeHeader(id, revision)}${int('ID', t.id)}${int('TTL', t.ttlSeconds)}${int('grantedTTL', t.grantedTtlSeconds)}${keys}}`;
}

export function encodeLeaseLeases(id: Identity, revision: number, ids: readonly bigint[]): string {
  const list = ids.length > 0 ? `,"leases":[${ids.map((l) => (l === 0n ? '{}' : `{"ID":"${l}"}`)).join(',')}]` : '';
  return `{"header":${encodeHeader(id, revision)}${list}}`;
}

/** One keep-alive stream message, `{"result":LeaseKeepAliveResponse}` (no newline). */
export function encodeKeepAliveFrame(id: Identity, revision: number, leaseId: bigint, ttlSeconds: number): string {
  return `{"result":{"header":${encodeHeader(id, revision)}${int('ID', leaseId)}${int('TTL', ttlSeconds)}}}`;
}
