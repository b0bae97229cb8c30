/**
 * The auth store's records in the backend (under the store's AUTH_PREFIX, "a"):
 *
 *   "a" "meta" "/enabled"   → "1" | "0"
 *   "a" "meta" "/revision"  → decimal auth revision (bumped by every change, as etcd's)
 *   "a" "user/" name        → JSON { name, password?: hash, roles: [...] }
 *   "a" "role/" name        → JSON { name, perms: [{ permType, key: b64, rangeEnd: b64 }] }
 */
import type { BatchOp } from '../backend/backend.ts';
import { AUTH_PREFIX } from '../mvcc/kv-codec.ts';
import type { Permission, PermType } from './permissions.ts';

export interface User {
  name: string;
  /** PasswordHasher's stored form; undefined for a user created with no_password. */
  password?: string;
  /** Sorted, unique. */
  roles: string[];
}

export interface Role {
  name: string;
  /** In etcd's order (see roleGrantPermission). */
  perms: Permission[];
}

export interface AuthState {
  enabled: boolean;
  revision: number;
  users: Map<string, User>;
  roles: Map<string, Role>;
}

const key = (s: string): Buffer => Buffer.concat([Buffer.of(AUTH_PREFIX), Buffer.from(s, 'utf8')]);
const ENABLED = 'meta/enabled';
const REVISION = 'meta/revision';

export function putMeta(state: AuthState): BatchOp[] {
  return [
    { type: 'put', key: key(ENABLED), value: Buffer.from(state.enabled ? '1' : '0') },
    { type: 'put', key: key(REVISION), value: Buffer.from(String(state.revision)) },
  ];
}

export function putUser(u: User): BatchOp {
  return { type: 'put', key: key(`user/${u.name}`), value: Buffer.from(JSON.stringify(u)) };
}

export function delUser(name: string): BatchOp {
  return { type: 'del', key: key(`user/${name}`) };
}

export function putRole(r: Role): BatchOp {
  const perms = r.perms.map((p) => ({ permType: p.permType, key: p.key.toString('base64'), rangeEnd: p.rangeEnd.toString('base64') }));
  return { type: 'put', key: key(`role/${r.name}`), value: Buffer.from(JSON.stringify({ name: r.name, perms })) };
}

export function delRole(name: string): BatchOp {
  return { type: 'del', key: key(`role/${name}`) };
}

/** Rebuilds the state from the records scanScanAuthRecords returned (empty → auth never used). */
export function decodeState(records: ReadonlyArray<[Buffer, Buffer]>): AuthState {
  const state: AuthState = { enabled: false, revision: 0, users: new Map(), roles: new Map() };
  for (const [k, v] of records) {
    const name = k.subarray(1).toString('utf8');
    const text = v.toString('utf8');
    if (name === ENABLED) state.enabled = text === '1';
    else if (name === REVISION) state.revision = Number(text);
    else if (name.startsWith('user/')) {
      const u = JSON.parse(text) as User;
      state.users.set(u.name, { name: u.name, password: u.password, roles: u.roles ?? [] });
    } else if (name.startsWith('role/')) {
      const r = JSON.parse(text) as { name: string; perms: Array<{ permType: PermType; key: string; rangeEnd: string }> };
      state.roles.set(r.name, {
        name: r.name,
        perms: r.perms.map((p) => ({ permType: p.permType, key: Buffer.from(p.key, 'base64'), rangeEnd: Buffer.from(p.rangeEnd, 'base64') })),
      });
    }
  }
  return state;
}
