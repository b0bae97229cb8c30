/**
 * etcd's --auth-token value, checked for syntax: `simple` (the default), or
 * `jwt,sign-method=RS256,priv-key=FILE,pub-key=FILE,ttl=5m`. The key files are read when the
 * server starts (jwt-tokens.ts), so a typo here stops the command before anything opens.
 *
 * Stricter than etcd 3.4 on purpose: an unknown option is an error (etcd logs a warning and
 * goes on, so `priv_key=` silently means "no key"), and so is a ttl that is not positive.
 */
import { DEFAULTS, JWT_SIGN_METHODS, type AuthTokenConfig, type JwtSignMethod } from '../config.ts';

export class TokenConfigError extends Error {}

const OPTIONS = new Set(['sign-method', 'priv-key', 'pub-key', 'ttl']);

export function parseAuthToken(value: string): AuthTokenConfig {
  const [kind, ...rest] = value.split(',').map((s) => s.trim());
  if (kind === 'simple' && rest.length === 0) return { kind: 'simple' };
  if (kind === 'simple') throw new TokenConfigError(`"simple" takes no options, got "${rest.join(',')}"`);
  if (kind !== 'jwt') throw new TokenConfigError(`unknown token type "${kind}" (use simple, or jwt,sign-method=...,priv-key=...)`);
  const opts = new Map<string, string>();
  for (const part of rest) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (!OPTIONS.has(name)) throw new TokenConfigError(`unknown jwt option "${name}" (known: ${[...OPTIONS].join(', ')})`);
    if (eq < 0 || eq === part.length - 1) throw new TokenConfigError(`jwt option "${name}" has no value`);
    if (opts.has(name)) throw new TokenConfigError(`jwt option "${name}" is given twice`);
    opts.set(name, part.slice(eq + 1));
  }
  const method = opts.get('sign-method');
  if (method === undefined) throw new TokenConfigError('jwt needs sign-method (one of ' + JWT_SIGN_METHODS.join(', ') + ')');
  if (!(JWT_SIGN_METHODS as readonly string[]).includes(method)) {
    throw new TokenConfigError(`sign-method "${method}" is not one of ${JWT_SIGN_METHODS.join(', ')}`);
  }
  const privateKeyFile = opts.get('priv-key');
  const publicKeyFile = opts.get('pub-key');
  if (privateKeyFile === undefined && publicKeyFile === undefined) {
    throw new TokenConfigError('jwt needs priv-key (to sign and verify) or pub-key (to verify only)');
  }
  if (method.startsWith('HS') && privateKeyFile === undefined) {
    throw new TokenConfigError(`${method} needs priv-key: the file's bytes are the shared secret`);
  }
  const ttl = opts.get('ttl');
  const ttlMs = ttl === undefined ? DEFAULTS.authJwtTtlMs : goDurationMs(ttl);
  if (!(ttlMs >= 1)) throw new TokenConfigError(`ttl "${ttl}" must be at least 1ms`);
  return { kind: 'jwt', signMethod: method as JwtSignMethod, privateKeyFile, publicKeyFile, ttlMs };
}

const GO_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration syntax (etcd parses ttl with it): "90s", "1h30m", "1.5h", "300ms". */
export function goDurationMs(v: string): number {
  if (v.length === 0) throw new TokenConfigError('ttl is empty');
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let at = 0;
  while (at < v.length) {
    re.lastIndex = at;
    const m = re.exec(v);
    if (!m) throw new TokenConfigError(`ttl "${v}" is not a duration (use e.g. 5m, 90s, 1h30m)`);
    ms += Number(m[1]) * GO_UNITS_MS[m[2]!]!;
    at = re.lastIndex;
  }
  return ms;
}
