/**
 * Password hashing with node's scrypt, off the event loop (libuv's thread pool). At most
 * `concurrency` hashes run at once so a flood of `authenticate` calls waits its turn in a queue
 * instead of filling the thread pool the backend's disk I/O also uses: a failed login costs the
 * caller time, not the server.
 *
 * Stored form: "scrypt$<N>$<salt base64>$<hash base64>"; verification compares in constant time.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { DEFAULTS } from '../config.ts';

const KEY_BYTES = 32;
const SALT_BYTES = 16;

export class PasswordHasher {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** A hash of nothing anyone knows, verified for unknown users so they cost the same time. */
  private dummy: Promise<string> | undefined;

  constructor(
    private readonly cost: number = DEFAULTS.authScryptCost,
    private readonly concurrency: number = DEFAULTS.authHashConcurrency,
  ) {}

  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await this.derive(password, salt, this.cost);
    return `scrypt$${this.cost}$${salt.toString('base64')}$${key.toString('base64')}`;
  }

  /** True when `password` matches `stored`; `stored` undefined (no such user) is always false, at the same cost. */
  async verify(password: string, stored: string | undefined): Promise<boolean> {
    const target = stored ?? (await (this.dummy ??= this.hash(randomBytes(16).toString('hex'))));
    const [scheme, n, salt, hash] = target.split('$');
    if (scheme !== 'scrypt' || !n || !salt || !hash) return false;
    const expected = Buffer.from(hash, 'base64');
    const got = await this.derive(password, Buffer.from(salt, 'base64'), Number(n));
    return stored !== undefined && got.length === expected.length && timingSafeEqual(got, expected);
  }

  private async derive(password: string, salt: Buffer, cost: number): Promise<Buffer> {
    await this.acquire();
    try {
      return await new Promise<Buffer>((resolve, reject) =>
        scrypt(password, salt, KEY_BYTES, { N: cost, r: 8, p: 1, maxmem: 256 * cost * 8 + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
      );
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
