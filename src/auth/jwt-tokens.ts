/**
 * etcd's JWT tokens (--auth-token jwt,...): a signed JWS whose claims are the user, the auth
 * revision it was issued at, and an expiry (`{"exp":…,"revision":…,"username":…}`, the order and
 * names etcd 3.4 uses). Nothing is kept in memory, so tokens outlive a restart, and several
 * servers given the same key accept each other's tokens.
 *
 * Checks, as etcd: the header's `alg` must be the configured method (a token cannot choose a
 * weaker one, nor `none`); the signature must verify; `exp` must not have passed (nor `nbf`/`iat`
 * lie in the future); `username` must be a string and `revision` a number. The auth store then
 * refuses key access with a token older than the auth revision (ERR_AUTH_OLD_REVISION), so a
 * role or password change takes effect at once; Go's clientv3 re-authenticates on that error.
 *
 * Hand-written over node:crypto, not a JWT library: verification runs on every request and must
 * be synchronous there, and compact JWS with one fixed algorithm is this much code.
 */
import { constants, createHmac, createPrivateKey, createPublicKey, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEFAULTS, type AuthTokenConfig, type JwtSignMethod } from '../config.ts';
import { kvError } from '../errors.ts';
import type { TokenInfo, TokenProvider } from './tokens.ts';

export interface JwtKeys {
  signMethod: JwtSignMethod;
  /** PEM private key, or for HS* the secret's bytes. */
  privateKey?: Buffer;
  /** PEM public key (verify-only when there is no private key). */
  publicKey?: Buffer;
  ttlMs: number;
}

/** A token whose signature and claims passed: who it is, and its time bounds (s since the epoch). */
interface Verified {
  info: TokenInfo;
  exp?: number;
  notBefore?: number;
}

/** ES* signatures are r‖s with each half this many bytes (RFC 7518 §3.4). */
const EC_CURVES: Record<string, { curve: string; half: number }> = {
  ES256: { curve: 'prime256v1', half: 32 },
  ES384: { curve: 'secp384r1', half: 48 },
  ES512: { curve: 'secp521r1', half: 66 },
};

/** Reads --auth-token's key files; the error names the option and the file. */
export function readJwtKeys(c: Extract<AuthTokenConfig, { kind: 'jwt' }>): JwtKeys {
  const read = (opt: string, file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`--auth-token ${opt}=${file}: ${(err as Error).message}`);
    }
  };
  return { signMethod: c.signMethod, privateKey: read('priv-key', c.privateKeyFile), publicKey: read('pub-key', c.publicKeyFile), ttlMs: c.ttlMs };
}

export class JwtTokens implements TokenProvider {
  private readonly hash: 'sha256' | 'sha384' | 'sha512';
  private readonly family: 'RS' | 'PS' | 'ES' | 'HS';
  private readonly signKey: KeyObject | Buffer | undefined;
  private readonly verifyKey: KeyObject | Buffer;
  private readonly header: string;
  /** Tokens whose signature and claims passed, by token (see check()). */
  private readonly verified = new Map<string, Verified>();

  /** Throws an Error naming the problem when a key is unreadable, of the wrong kind, or the pair do not match. */
  constructor(
    private readonly keys: JwtKeys,
    private readonly nowMs: () => number = Date.now,
  ) {
    const m = keys.signMethod;
    this.family = m.slice(0, 2) as JwtTokens['family'];
    this.hash = `sha${m.slice(2)}` as JwtTokens['hash'];
    this.header = b64url(JSON.stringify({ alg: m, typ: 'JWT' }));
    if (this.family === 'HS') {
      if (!keys.privateKey?.length) throw new Error(`--auth-token: ${m} needs a non-empty priv-key file (the shared secret)`);
      this.signKey = this.verifyKey = keys.privateKey;
      return;
    }
    const priv = keys.privateKey && parseKey(() => createPrivateKey(keys.privateKey!), 'priv-key', 'private');
    const pub = keys.publicKey && parseKey(() => createPublicKey(keys.publicKey!), 'pub-key', 'public');
    for (const k of [priv, pub]) if (k) checkKind(k, m);
    if (priv && pub && !spki(createPublicKey(priv)).equals(spki(pub))) {
      throw new Error('--auth-token: pub-key is not the public half of priv-key');
    }
    this.signKey = priv;
    this.verifyKey = pub ?? createPublicKey(priv!);
  }

  issue(user: string, authRevision: number): string {
    if (this.signKey === undefined) throw kvError('ERR_AUTH_VERIFY_ONLY');
    const exp = Math.floor((this.nowMs() + this.keys.ttlMs) / 1000);
    const body = `${this.header}.${b64url(JSON.stringify({ exp, revision: authRevision, username: user }))}`;
    return `${body}.${this.signature(body).toString('base64url')}`;
  }

  verify(token: string): TokenInfo | undefined {
    let v = this.verified.get(token);
    if (v === undefined) {
      const checked = this.check(token);
      if (checked === undefined) return undefined;
      // Bounded: a flood of distinct tokens costs their checks, never unbounded memory.
      if (this.verified.size >= DEFAULTS.authJwtVerifiedTokens) this.verified.clear();
      this.verified.set(token, (v = checked));
    }
    const nowS = this.nowMs() / 1000;
    if ((v.exp !== undefined && nowS > v.exp) || (v.notBefore !== undefined && nowS < v.notBefore)) return undefined;
    return v.info;
  }

  /**
   * The signature and the claims' shape: the same for every use of a token, so verify() keeps the
   * answer (a request with a token would otherwise pay a signature check each time). Only the
   * clock checks are redone on each use.
   */
  private check(token: string): Verified | undefined {
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p))) return undefined;
    const header = json(parts[0]!);
    if (header?.alg !== this.keys.signMethod) return undefined;
    const body = `${parts[0]}.${parts[1]}`;
    if (!this.signatureOk(body, Buffer.from(parts[2]!, 'base64url'))) return undefined;
    const claims = json(parts[1]!);
    if (!claims || typeof claims.username !== 'string' || !isCount(claims.revision)) return undefined;
    const num = (k: string): number | undefined | null => (claims[k] === undefined ? undefined : typeof claims[k] === 'number' ? claims[k] : null);
    const [exp, nbf, iat] = [num('exp'), num('nbf'), num('iat')];
    if (exp === null || nbf === null || iat === null) return undefined;
    // Neither nbf nor iat may lie in the future: the later of the two is when the token starts.
    const notBefore = nbf === undefined ? iat : iat === undefined ? nbf : Math.max(nbf, iat);
    return { info: { user: claims.username, revision: claims.revision as number }, exp, notBefore };
  }

  /** Nothing to forget: a stale token is refused by its revision (a user change bumps it). */
  invalidateUser(): void {}

  clear(): void {}

  close(): void {}

  private signature(data: string): Buffer {
    const key = this.signKey!;
    switch (this.family) {
      case 'HS':
        return createHmac(this.hash, key as Buffer).update(data).digest();
      case 'RS':
        return sign(this.hash, Buffer.from(data), key as KeyObject);
      case 'PS':
        return sign(this.hash, Buffer.from(data), { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
      case 'ES':
        return sign(this.hash, Buffer.from(data), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
    }
  }

  private signatureOk(data: string, sig: Buffer): boolean {
    const key = this.verifyKey;
    switch (this.family) {
      case 'HS': {
        const want = createHmac(this.hash, key as Buffer).update(data).digest();
        return sig.length === want.length && timingSafeEqual(sig, want);
      }
      case 'RS':
        return verify(this.hash, Buffer.from(data), key as KeyObject, sig);
      case 'PS':
        return verify(this.hash, Buffer.from(data), { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig);
      case 'ES':
        return sig.length === 2 * EC_CURVES[this.keys.signMethod]!.half && verify(this.hash, Buffer.from(data), { key: key as KeyObject, dsaEncoding: 'ieee-p1363' }, sig);
    }
  }
}

function parseKey(make: () => KeyObject, opt: string, what: string): KeyObject {
  try {
    return make();
  } catch (err) {
    throw new Error(`--auth-token ${opt}: not a PEM ${what} key (${(err as Error).message})`);
  }
}

/** RS/PS need an RSA key; ES256/384/512 an EC key on P-256/P-384/P-521. */
function checkKind(k: KeyObject, method: JwtSignMethod): void {
  const type = k.asymmetricKeyType;
  if (method.startsWith('ES')) {
    const want = EC_CURVES[method]!.curve;
    if (type !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== want) throw new Error(`--auth-token: ${method} needs an EC key on ${want}, got ${type} ${k.asymmetricKeyDetails?.namedCurve ?? ''}`.trim());
  } else if (type !== 'rsa' && !(method.startsWith('PS') && type === 'rsa-pss')) {
    throw new Error(`--auth-token: ${method} needs an RSA key, got ${type}`);
  }
}

function spki(k: KeyObject): Buffer {
  return k.export({ type: 'spki', format: 'der' });
}

function b64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}

function json(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
