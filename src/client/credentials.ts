/**
 * The client's auth token, for a server with auth on: a fixed token, or one got by signing in
 * with a user name and password (POST /v3/auth/authenticate) when first needed.
 *
 * As etcd's Go client: when the server says the token is no good — `invalid auth token` (it
 * expired, or a restart forgot a simple token), `revision of auth store is old` (a JWT issued
 * before a user or role change), or `user name is empty` (auth was enabled since) — the client
 * signs in again once and repeats the call. A fixed token cannot be renewed: the error stands.
 *
 * A server whose auth is off answers sign-in with `authentication is not enabled`: then, as
 * clientv3, calls go without a token until the server asks for one (`user name is empty`).
 *
 * Invariant: at most one sign-in is in flight; callers that need a token meanwhile share it.
 */
import { WatchKvClientError } from './errors.ts';

export interface AuthOptions {
  username: string;
  password: string;
}

const STALE_TOKEN = ['etcdserver: invalid auth token', 'etcdserver: revision of auth store is old', 'etcdserver: user name is empty'];

/** True when `err` (a server answer, or a watch's cancel_reason) says the token must be renewed. */
export function isStaleToken(err: unknown): boolean {
  const message = err instanceof WatchKvClientError ? err.message : typeof err === 'string' ? err : '';
  return STALE_TOKEN.some((m) => message.endsWith(m));
}

const AUTH_NOT_ENABLED = 'etcdserver: authentication is not enabled';

export class Credentials {
  private current: string | undefined;
  private signingIn: Promise<string | undefined> | undefined;
  /** Sign-in said auth is off: send no token until a call says otherwise. */
  private authOff = false;

  constructor(
    private readonly signIn: (() => Promise<string>) | undefined,
    fixed?: string,
  ) {
    this.current = fixed;
  }

  /** True when a stale token can be replaced (a user name and password were given). */
  get renewable(): boolean {
    return this.signIn !== undefined;
  }

  /** The token to send, signing in first if needed; undefined when the client has no credentials. */
  async token(): Promise<string | undefined> {
    const signIn = this.signIn;
    if (this.current !== undefined || !signIn || this.authOff) return this.current;
    this.signingIn ??= signIn()
      .catch((err: unknown) => {
        if (!(err instanceof WatchKvClientError) || !err.message.endsWith(AUTH_NOT_ENABLED)) throw err;
        this.authOff = true;
        return undefined;
      })
      .finally(() => (this.signingIn = undefined));
    this.current = await this.signingIn;
    return this.current;
  }

  /** `token` was refused (undefined: a call without one): forget it, unless a newer one replaced it. */
  invalidate(token: string | undefined): void {
    if (!this.renewable) return;
    if (token === undefined) this.authOff = false;
    else if (this.current === token) this.current = undefined;
  }
}
