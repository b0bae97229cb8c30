/**
 * Auth administration over the gateway (`/v3/auth/...`), as etcdctl's `user`, `role` and `auth`
 * commands do it: users, roles, key-range permissions, and turning auth on and off. Calls other
 * than enable need the root role once auth is on; the client's own `auth` option signs it in.
 */
import { toBase64, toBytes, base64ToUtf8, prefixRangeEnd, type BytesLike } from './bytes.ts';
import type { HttpTransport } from './http-transport.ts';

export type PermissionType = 'READ' | 'WRITE' | 'READWRITE';

/** A role's permission. `rangeEnd` '' = the key alone; '\0' = every key from `key` on. */
export interface Permission {
  type: PermissionType;
  key: string;
  rangeEnd: string;
}

/** Which keys a permission covers: one key, a prefix, a range [key, rangeEnd), or key and after. */
export type KeySpan = { prefix?: boolean; fromKey?: boolean; rangeEnd?: BytesLike };

interface RawPermission {
  permType?: PermissionType;
  key?: string;
  range_end?: string;
}

function spanEnd(key: BytesLike, span: KeySpan): string | undefined {
  const given = [span.prefix, span.fromKey, span.rangeEnd !== undefined].filter(Boolean).length;
  if (given > 1) throw new TypeError('give one of prefix, fromKey or rangeEnd');
  if (span.prefix) return toBase64(prefixRangeEnd(toBytes(key)));
  if (span.fromKey) return 'AA==';
  return span.rangeEnd === undefined ? undefined : toBase64(span.rangeEnd);
}

export class AuthApi {
  constructor(private readonly http: HttpTransport) {}

  async enable(): Promise<void> {
    await this.http.post('/v3/auth/enable', {});
  }

  async disable(): Promise<void> {
    await this.http.post('/v3/auth/disable', {});
  }

  /** A user with a password, or with none (`null`: only a client certificate can be them). */
  async userAdd(name: string, password: string | null): Promise<void> {
    await this.http.post('/v3/auth/user/add', password === null ? { name, options: { no_password: true } } : { name, password });
  }

  /** The user's roles (NotFound-style FailedPrecondition when there is no such user). */
  async userGet(name: string): Promise<string[]> {
    return (await this.http.post<{ roles?: string[] }>('/v3/auth/user/get', { name })).roles ?? [];
  }

  async userList(): Promise<string[]> {
    return (await this.http.post<{ users?: string[] }>('/v3/auth/user/list', {})).users ?? [];
  }

  async userDelete(name: string): Promise<void> {
    await this.http.post('/v3/auth/user/delete', { name });
  }

  async userChangePassword(name: string, password: string): Promise<void> {
    await this.http.post('/v3/auth/user/changepw', { name, password });
  }

  async userGrantRole(user: string, role: string): Promise<void> {
    await this.http.post('/v3/auth/user/grant', { user, role });
  }

  async userRevokeRole(name: string, role: string): Promise<void> {
    await this.http.post('/v3/auth/user/revoke', { name, role });
  }

  async roleAdd(name: string): Promise<void> {
    await this.http.post('/v3/auth/role/add', { name });
  }

  /** The role's permissions, in the order the server keeps them. */
  async roleGet(role: string): Promise<Permission[]> {
    const r = await this.http.post<{ perm?: RawPermission[] }>('/v3/auth/role/get', { role });
    return (r.perm ?? []).map((p) => ({ type: p.permType ?? 'READ', key: base64ToUtf8(p.key ?? ''), rangeEnd: base64ToUtf8(p.range_end ?? '') }));
  }

  async roleList(): Promise<string[]> {
    return (await this.http.post<{ roles?: string[] }>('/v3/auth/role/list', {})).roles ?? [];
  }

  async roleDelete(role: string): Promise<void> {
    await this.http.post('/v3/auth/role/delete', { role });
  }

  async roleGrantPermission(name: string, type: PermissionType, key: BytesLike, span: KeySpan = {}): Promise<void> {
    const end = spanEnd(key, span);
    await this.http.post('/v3/auth/role/grant', { name, perm: { permType: type, key: toBase64(key), ...(end === undefined ? {} : { range_end: end }) } });
  }

  async roleRevokePermission(role: string, key: BytesLike, span: KeySpan = {}): Promise<void> {
    const end = spanEnd(key, span);
    await this.http.post('/v3/auth/role/revoke', { role, key: toBase64(key), ...(end === undefined ? {} : { range_end: end }) });
  }
}
