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

export class SimpleTokens {
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
  user(token: string): string | undefined {
    const e = this.tokens.get(token);
    if (!e) return undefined;
    const now = this.now();
    if (e.expiresAtMs <= now) {
      this.tokens.delete(token);
      return undefined;
    }
    e.expiresAtMs = now + this.ttlMs;
    return e.user;
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
