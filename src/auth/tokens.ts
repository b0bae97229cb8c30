/** Who a token says it is; `revision` is the auth revision a JWT was signed at (simple tokens have none). */
export interface TokenInfo {
  user: string;
  revision?: number;
}

/** What the auth store needs of a token kind (etcd's TokenProvider): simple here, JWT in jwt-tokens.ts. */
export interface TokenProvider {
  /** A new token for `user`, issued at auth revision `authRevision`. */
  issue(user: string, authRevision: number): string;
  /** Who a live token belongs to, or undefined for a dead, unknown or forged one. */
  verify(token: string): TokenInfo | undefined;
  /** The user's password changed or the user is gone. */
  invalidateUser(user: string): void;
  /** Auth was disabled. */
  clear(): void;
  close(): void;
}

/**
 * etcd's "simple" tokens: a random string plus "." and a counter, kept in memory with a TTL
 * (--auth-token-ttl). As in etcd, each use of a token restarts its TTL, changing a user's
 * password or deleting the user invalidates their tokens, and a restart forgets them all.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const TOKEN_CHARS = 16;

interface Entry {
  user: string;
  expiresAtMs: number;
}

export class SimpleTokens implements TokenProvider {
  private readonly tokens = new Map<string, Entry>();
  private counter = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    // Expired tokens are refused on use anyway; the sweep only bounds memory.
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(ttlMs, 60_000)));
    this.sweeper.unref();
  }

  issue(user: string): string {
    const bytes = randomBytes(TOKEN_CHARS);
    let s = '';
    for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
    const token = `${s}.${++this.counter}`;
    this.tokens.set(token, { user, expiresAtMs: this.now() + this.ttlMs });
    return token;
  }

  /** The user a live token belongs to (and its TTL restarts), or undefined. */
  verify(token: string): TokenInfo | undefined {
    const e = this.tokens.get(token);
    if (!e) return undefined;
    const now = this.now();
    if (e.expiresAtMs <= now) {
      this.tokens.delete(token);
      return undefined;
    }
    e.expiresAtMs = now + this.ttlMs;
    return { user: e.user };
  }

  invalidateUser(user: string): void {
    for (const [t, e] of this.tokens) if (e.user === user) this.tokens.delete(t);
  }

  clear(): void {
    this.tokens.clear();
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = this.now();
    for (const [t, e] of this.tokens) if (e.expiresAtMs <= now) this.tokens.delete(t);
  }
}
