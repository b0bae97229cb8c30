/**
 * The auth store: etcd 3.4's users, roles and key-range permissions, durable through the store's
 * write path (AuthHost), with simple or JWT tokens and the permission checks the transports call
 * (auth-check.ts). It knows nothing of HTTP or gRPC.
 *
 * Invariants: `state` changes only inside an authWrite body (under the store's txn lock), so
 * changes apply in one order and each is one atomic batch with the bumped auth revision; the
 * per-user permission cache is valid for one auth revision only. The `root` role is implicit, as
 * in etcd 3.4: granting it needs no role record, and a user holding it may do everything.
 */
import type { AuthHost } from '../mvcc/auth-host.ts';
import type { BatchOp } from '../backend/backend.ts';
import { kvError } from '../errors.ts';
import { DEFAULTS, type AuthTokenConfig } from '../config.ts';
import { decodeState, delRole, delUser, putMeta, putRole, putUser, type AuthState, type Role, type User } from './auth-records.ts';
import { permSets, type IntervalSet, type Permission } from './permissions.ts';
import { PasswordHasher } from './password.ts';
import { SimpleTokens, type TokenProvider } from './tokens.ts';
import { JwtTokens, readJwtKeys } from './jwt-tokens.ts';

export const ROOT = 'root';

/**
 * etcd re-sorts a role's grants by key after appending one (sort.Sort, `<` on the key); for the
 * short lists roles have that is an insertion sort, so grants on one key keep their order: a
 * stable sort by key.
 */
function goSortByKey(perms: Permission[]): Permission[] {
  return perms.sort((a, b) => Buffer.compare(a.key, b.key));
}

/**
 * Who a request is, once its token was looked at; `user` '' = no token given. `revision`: the
 * auth revision a JWT was issued at; key access with an older one is refused, as in etcd.
 */
export interface AuthInfo {
  user: string;
  revision?: number;
}

export interface AuthStoreOptions {
  tokenTtlSeconds: number;
  /** --auth-token: simple (default) or jwt; JWT key files are read when the store opens. */
  token: AuthTokenConfig;
  scryptCost: number;
  hashConcurrency: number;
}

export async function openAuthStore(host: AuthHost, options: Partial<AuthStoreOptions> = {}): Promise<AuthStore> {
  return new AuthStore(host, decodeState(await host.scanAuthRecords()), {
    tokenTtlSeconds: options.tokenTtlSeconds ?? DEFAULTS.authTokenTtlSeconds,
    token: options.token ?? { kind: 'simple' },
    scryptCost: options.scryptCost ?? DEFAULTS.authScryptCost,
    hashConcurrency: options.hashConcurrency ?? DEFAULTS.authHashConcurrency,
  });
}

export class AuthStore {
  readonly tokens: TokenProvider;
  private readonly hasher: PasswordHasher;
  private readonly cache = new Map<string, { revision: number; read: IntervalSet; write: IntervalSet }>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly host: AuthHost,
    private readonly state: AuthState,
    options: AuthStoreOptions,
  ) {
    const t = options.token;
    this.tokens = t.kind === 'jwt' ? new JwtTokens(readJwtKeys(t)) : new SimpleTokens(options.tokenTtlSeconds * 1000);
    this.hasher = new PasswordHasher(options.scryptCost, options.hashConcurrency);
  }

  get enabled(): boolean {
    return this.state.enabled;
  }

  get revision(): number {
    return this.state.revision;
  }

  /** Called after every change (open watches re-check their ranges: watch-guard.ts). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.tokens.close();
  }

  // ---- who is asking ----

  /**
   * undefined while auth is disabled (everything allowed). As etcd 3.4, a token that is given
   * must be live even then (tokens die when auth is disabled, so any token is refused).
   */
  infoFromToken(token: string | undefined): AuthInfo | undefined {
    if (token === undefined || token === '') return this.state.enabled ? { user: '' } : undefined;
    const info = this.tokens.verify(token);
    if (info === undefined) throw kvError('ERR_AUTH_INVALID_TOKEN');
    return this.state.enabled ? info : undefined;
  }

  /** The user a verified client certificate names (--client-cert-auth: CN = user). */
  infoFromCommonName(cn: string): AuthInfo | undefined {
    return this.state.enabled ? { user: cn } : undefined;
  }

  // ---- checks (etcd's isOpPermitted / IsAdminPermitted) ----

  checkRead(info: AuthInfo | undefined, key: Buffer, rangeEnd?: Buffer): void {
    this.checkFresh(info);
    this.check(info, (p) => p.read.covers(key, rangeEnd));
  }

  checkWrite(info: AuthInfo | undefined, key: Buffer, rangeEnd?: Buffer): void {
    this.checkFresh(info);
    this.check(info, (p) => p.write.covers(key, rangeEnd));
  }

  checkAdmin(info: AuthInfo | undefined): void {
    this.check(info, () => false);
  }

  /**
   * Like checkRead, as a boolean, for open watches re-checking after an auth change. The token's
   * revision is not looked at: every change makes a JWT old, but only lost permissions end a
   * watch (etcd checks a watch once, at creation).
   */
  mayRead(info: AuthInfo | undefined, key: Buffer, rangeEnd?: Buffer): boolean {
    try {
      this.check(info, (p) => p.read.covers(key, rangeEnd));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * etcd's isOpPermitted: key access with a JWT issued before the latest auth change is refused
   * (clients re-authenticate). Admin checks do not look at it, as in etcd 3.4.
   */
  checkFresh(info: AuthInfo | undefined): void {
    if (!this.state.enabled || info === undefined || info.user === '' || info.revision === undefined) return;
    if (info.revision < this.state.revision) throw kvError('ERR_AUTH_OLD_REVISION');
  }

  private check(info: AuthInfo | undefined, allowed: (p: { read: IntervalSet; write: IntervalSet }) => boolean): void {
    if (!this.state.enabled || info === undefined) return;
    if (info.user === '') throw kvError('ERR_AUTH_USER_EMPTY');
    const user = this.state.users.get(info.user);
    if (!user) throw kvError('ERR_PERMISSION_DENIED');
    if (user.roles.includes(ROOT)) return;
    if (!allowed(this.permsOf(user))) throw kvError('ERR_PERMISSION_DENIED');
  }

  private permsOf(user: User): { read: IntervalSet; write: IntervalSet } {
    const hit = this.cache.get(user.name);
    if (hit && hit.revision === this.state.revision) return hit;
    const perms = user.roles.flatMap((r) => this.state.roles.get(r)?.perms ?? []);
    const entry = { revision: this.state.revision, ...permSets(perms) };
    this.cache.set(user.name, entry);
    return entry;
  }

  // ---- authenticate ----

  async authenticate(name: string, password: string): Promise<string> {
    if (!this.state.enabled) throw kvError('ERR_AUTH_NOT_ENABLED');
    const user = this.state.users.get(name);
    if (user && user.password === undefined) throw kvError('ERR_AUTH_NO_PASSWORD_USER');
    // Unknown users and users without a password cost the same hash as a wrong password.
    const ok = await this.hasher.verify(password, user?.password);
    if (!ok || !this.state.enabled || this.state.users.get(name) !== user) throw kvError('ERR_AUTH_FAILED');
    return this.tokens.issue(name, this.state.revision);
  }

  // ---- changes (each one authWrite: one atomic batch, revision + 1) ----

  private change<T>(body: () => { ops: BatchOp[]; result: T }): Promise<T> {
    return this.host
      .authWrite(() => {
        const out = body();
        this.state.revision++;
        return { ops: [...out.ops, ...putMeta(this.state)], result: out.result };
      })
      .finally(() => {
        for (const l of this.listeners) l();
      });
  }

  enable(): Promise<void> {
    return this.change(() => {
      const root = this.state.users.get(ROOT);
      if (!root) throw kvError('ERR_AUTH_ROOT_USER_NOT_EXIST');
      if (!root.roles.includes(ROOT)) throw kvError('ERR_AUTH_ROOT_ROLE_NOT_EXIST');
      this.state.enabled = true;
      return { ops: [], result: undefined };
    });
  }

  disable(): Promise<void> {
    return this.change(() => {
      this.state.enabled = false;
      this.tokens.clear();
      return { ops: [], result: undefined };
    });
  }

  async userAdd(name: string, password: string, noPassword: boolean): Promise<void> {
    if (name === '') throw kvError('ERR_AUTH_USER_EMPTY');
    if (this.state.users.has(name)) throw kvError('ERR_AUTH_USER_EXISTS');
    const hash = noPassword ? undefined : await this.hasher.hash(password);
    return this.change(() => {
      if (this.state.users.has(name)) throw kvError('ERR_AUTH_USER_EXISTS');
      const u: User = { name, password: hash, roles: [] };
      this.state.users.set(name, u);
      return { ops: [putUser(u)], result: undefined };
    });
  }

  userGet(name: string): User {
    const u = this.state.users.get(name);
    if (!u) throw kvError('ERR_AUTH_USER_NOT_FOUND');
    return u;
  }

  userList(): string[] {
    return [...this.state.users.keys()].sort();
  }

  userDelete(name: string): Promise<void> {
    return this.change(() => {
      if (this.state.enabled && name === ROOT) throw kvError('ERR_AUTH_INVALID_MGMT');
      if (!this.state.users.delete(name)) throw kvError('ERR_AUTH_USER_NOT_FOUND');
      this.tokens.invalidateUser(name);
      return { ops: [delUser(name)], result: undefined };
    });
  }

  async userChangePassword(name: string, password: string): Promise<void> {
    if (!this.state.users.has(name)) throw kvError('ERR_AUTH_USER_NOT_FOUND');
    const hash = await this.hasher.hash(password);
    return this.change(() => {
      const u = this.state.users.get(name);
      if (!u) throw kvError('ERR_AUTH_USER_NOT_FOUND');
      u.password = hash;
      this.tokens.invalidateUser(name);
      return { ops: [putUser(u)], result: undefined };
    });
  }

  userGrantRole(name: string, role: string): Promise<void> {
    return this.change(() => {
      const u = this.state.users.get(name);
      if (!u) throw kvError('ERR_AUTH_USER_NOT_FOUND');
      if (role !== ROOT && !this.state.roles.has(role)) throw kvError('ERR_AUTH_ROLE_NOT_FOUND');
      if (!u.roles.includes(role)) u.roles = [...u.roles, role].sort();
      return { ops: [putUser(u)], result: undefined };
    });
  }

  userRevokeRole(name: string, role: string): Promise<void> {
    return this.change(() => {
      if (this.state.enabled && name === ROOT && role === ROOT) throw kvError('ERR_AUTH_INVALID_MGMT');
      const u = this.state.users.get(name);
      if (!u) throw kvError('ERR_AUTH_USER_NOT_FOUND');
      if (!u.roles.includes(role)) throw kvError('ERR_AUTH_ROLE_NOT_GRANTED');
      u.roles = u.roles.filter((r) => r !== role);
      return { ops: [putUser(u)], result: undefined };
    });
  }

  roleAdd(name: string): Promise<void> {
    if (name === '') return Promise.reject(kvError('ERR_AUTH_ROLE_EMPTY'));
    return this.change(() => {
      if (this.state.roles.has(name)) throw kvError('ERR_AUTH_ROLE_EXISTS');
      const r: Role = { name, perms: [] };
      this.state.roles.set(name, r);
      return { ops: [putRole(r)], result: undefined };
    });
  }

  roleGet(name: string): Role {
    const r = this.state.roles.get(name);
    if (!r) throw kvError('ERR_AUTH_ROLE_NOT_FOUND');
    return r;
  }

  roleList(): string[] {
    return [...this.state.roles.keys()].sort();
  }

  roleDelete(name: string): Promise<void> {
    return this.change(() => {
      if (this.state.enabled && name === ROOT) throw kvError('ERR_AUTH_INVALID_MGMT');
      if (!this.state.roles.delete(name)) throw kvError('ERR_AUTH_ROLE_NOT_FOUND');
      const ops: BatchOp[] = [delRole(name)];
      for (const u of this.state.users.values()) {
        if (!u.roles.includes(name)) continue;
        u.roles = u.roles.filter((r) => r !== name);
        ops.push(putUser(u));
      }
      return { ops, result: undefined };
    });
  }

  roleGrantPermission(name: string, perm: Permission): Promise<void> {
    return this.change(() => {
      const r = this.state.roles.get(name);
      if (!r) throw kvError('ERR_AUTH_ROLE_NOT_FOUND');
      // etcd's rule: when the first grant whose key is >= the new key has the same key and range
      // end, only its type changes; else the grant is appended and the list re-sorted by key.
      let idx = r.perms.findIndex((p) => Buffer.compare(p.key, perm.key) >= 0);
      if (idx < 0) idx = r.perms.length;
      const at = r.perms[idx];
      if (at && at.key.equals(perm.key) && at.rangeEnd.equals(perm.rangeEnd)) r.perms = r.perms.map((p, i) => (i === idx ? perm : p));
      else r.perms = goSortByKey([...r.perms, perm]);
      return { ops: [putRole(r)], result: undefined };
    });
  }

  roleRevokePermission(name: string, key: Buffer, rangeEnd: Buffer): Promise<void> {
    return this.change(() => {
      const r = this.state.roles.get(name);
      if (!r) throw kvError('ERR_AUTH_ROLE_NOT_FOUND');
      const rest = r.perms.filter((p) => !(p.key.equals(key) && p.rangeEnd.equals(rangeEnd)));
      if (rest.length === r.perms.length) throw kvError('ERR_AUTH_PERMISSION_NOT_GRANTED');
      r.perms = rest;
      return { ops: [putRole(r)], result: undefined };
    });
  }
}
