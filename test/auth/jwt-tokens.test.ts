/**
 * JWT tokens: every sign method etcd accepts round-trips; forged, re-keyed, other-algorithm,
 * expired and ill-typed tokens are refused; key files of the wrong kind, or a pair that does not
 * match, stop the start with a message that says so; `--auth-token` syntax errors name the problem.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JwtTokens, type JwtKeys } from '../../src/auth/jwt-tokens.ts';
import { goDurationMs, parseAuthToken } from '../../src/auth/token-config.ts';
import { isKvError } from '../../src/errors.ts';
import { JWT_SIGN_METHODS, type JwtSignMethod } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { watchkvConfig } from '../support/etcd-pair.ts';

const rsaPair = () => generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const ecPair = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const rsa = rsaPair();
const rsa2 = rsaPair();
const ec = { ES256: ecPair('prime256v1'), ES384: ecPair('secp384r1'), ES512: ecPair('secp521r1') };
const secret = Buffer.from('a shared secret of some length, from a file');

function keysFor(m: JwtSignMethod): JwtKeys {
  if (m.startsWith('HS')) return { signMethod: m, privateKey: secret, ttlMs: 60_000 };
  const pair = m.startsWith('ES') ? ec[m as keyof typeof ec] : rsa;
  return { signMethod: m, privateKey: Buffer.from(pair.privateKey), publicKey: Buffer.from(pair.publicKey), ttlMs: 60_000 };
}

const seg = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A token signed RS256 with rsa's key, with whatever claims a test needs. */
function rs256(claims: unknown): string {
  const body = `${seg({ alg: 'RS256', typ: 'JWT' })}.${seg(claims)}`;
  return `${body}.${sign('sha256', Buffer.from(body), rsa.privateKey).toString('base64url')}`;
}

test('every sign method etcd accepts signs and verifies its own tokens', () => {
  for (const m of JWT_SIGN_METHODS) {
    const t = new JwtTokens(keysFor(m), () => 1_700_000_000_000);
    const tok = t.issue('alice', 7);
    const [h, c] = tok.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    assert.equal(h, { alg: m, typ: 'JWT' }, m);
    assert.equal(c, { exp: 1_700_000_060, revision: 7, username: 'alice' }, m);
    assert.equal(t.verify(tok), { user: 'alice', revision: 7 }, m);
  }
});

test('tokens from another key, another algorithm, or altered in any part are refused', () => {
  const t = new JwtTokens(keysFor('RS256'));
  const other = new JwtTokens({ ...keysFor('RS256'), privateKey: Buffer.from(rsa2.privateKey), publicKey: Buffer.from(rsa2.publicKey) });
  const tok = t.issue('alice', 1);
  const [h, c, s] = tok.split('.') as [string, string, string];
  const refused = {
    otherKey: other.issue('alice', 1),
    ps256SameKey: new JwtTokens({ ...keysFor('PS256') }).issue('alice', 1),
    alteredClaims: `${h}.${seg({ exp: 4_000_000_000, revision: 1, username: 'root' })}.${s}`,
    unsigned: `${seg({ alg: 'none', typ: 'JWT' })}.${c}.`,
    hs256WithPublicKeyPem: (() => {
      const body = `${seg({ alg: 'HS256', typ: 'JWT' })}.${c}`;
      return `${body}.${createHmac('sha256', rsa.publicKey).update(body).digest('base64url')}`;
    })(),
    truncatedSignature: `${h}.${c}.${s.slice(0, -4)}`,
    twoParts: `${h}.${c}`,
    notBase64url: `${h}.${c}.${s}+`,
    empty: '',
  };
  for (const [name, bad] of Object.entries(refused)) assert.is(t.verify(bad), undefined, name);
  assert.ok(t.verify(tok));
});

test('expiry, not-before and claim types are checked', () => {
  let now = 1_700_000_000_000;
  const t = new JwtTokens(keysFor('RS256'), () => now);
  const tok = t.issue('alice', 3); // exp = now + 60 s
  now += 60_000;
  assert.ok(t.verify(tok), 'valid up to and at exp');
  now += 1_000;
  assert.is(t.verify(tok), undefined, 'expired');
  const s = now / 1000;
  assert.ok(t.verify(rs256({ revision: 1, username: 'bob' })), 'no exp: never expires (etcd 3.3 tokens)');
  assert.is(t.verify(rs256({ nbf: s + 30, revision: 1, username: 'bob' })), undefined, 'not yet valid');
  assert.is(t.verify(rs256({ iat: s + 30, revision: 1, username: 'bob' })), undefined, 'issued in the future');
  assert.is(t.verify(rs256({ exp: String(s + 60), revision: 1, username: 'bob' })), undefined, 'exp not a number');
  assert.is(t.verify(rs256({ exp: s + 60, revision: '1', username: 'bob' })), undefined, 'revision not a number');
  assert.is(t.verify(rs256({ exp: s + 60, revision: 1, username: 5 })), undefined, 'username not a string');
  assert.is(t.verify(rs256({ exp: s + 60, username: 'bob' })), undefined, 'no revision');
  assert.is(t.verify(rs256([1, 2])), undefined, 'claims not an object');
});

test('a public key alone verifies, and signing with it is etcd\'s verify-only error', () => {
  const full = new JwtTokens(keysFor('ES256'));
  const verifier = new JwtTokens({ signMethod: 'ES256', publicKey: Buffer.from(ec.ES256.publicKey), ttlMs: 60_000 });
  assert.equal(verifier.verify(full.issue('alice', 2)), { user: 'alice', revision: 2 });
  try {
    verifier.issue('alice', 2);
    assert.unreachable('a verify-only provider signed');
  } catch (err) {
    assert.ok(isKvError(err, 'ERR_AUTH_VERIFY_ONLY'));
    assert.is((err as Error).message, 'auth: token signing attempted with verify-only key');
  }
});

test('keys of the wrong kind, or a pair that does not match, are refused with the reason', () => {
  const cases: Array<[JwtKeys, RegExp]> = [
    [{ signMethod: 'ES256', privateKey: Buffer.from(rsa.privateKey), ttlMs: 1 }, /ES256 needs an EC key on prime256v1, got rsa/],
    [{ signMethod: 'ES384', privateKey: Buffer.from(ec.ES256.privateKey), ttlMs: 1 }, /ES384 needs an EC key on secp384r1, got ec prime256v1/],
    [{ signMethod: 'RS256', privateKey: Buffer.from(ec.ES256.privateKey), ttlMs: 1 }, /RS256 needs an RSA key, got ec/],
    [{ signMethod: 'RS256', privateKey: Buffer.from(rsa.privateKey), publicKey: Buffer.from(rsa2.publicKey), ttlMs: 1 }, /pub-key is not the public half of priv-key/],
    [{ signMethod: 'RS256', privateKey: Buffer.from('not a key'), ttlMs: 1 }, /priv-key: not a PEM private key/],
    [{ signMethod: 'RS256', publicKey: Buffer.from('not a key'), ttlMs: 1 }, /pub-key: not a PEM public key/],
    [{ signMethod: 'HS256', privateKey: Buffer.alloc(0), ttlMs: 1 }, /HS256 needs a non-empty priv-key file/],
  ];
  for (const [keys, msg] of cases) assert.throws(() => new JwtTokens(keys), msg);
});

test('--auth-token: simple, jwt with defaults, and each malformed value named', () => {
  assert.equal(parseAuthToken('simple'), { kind: 'simple' });
  assert.equal(parseAuthToken('jwt,sign-method=RS256,priv-key=/k'), { kind: 'jwt', signMethod: 'RS256', privateKeyFile: '/k', publicKeyFile: undefined, ttlMs: 300_000 });
  assert.equal(parseAuthToken('jwt, sign-method=HS512, priv-key=/s, ttl=1h30m'), { kind: 'jwt', signMethod: 'HS512', privateKeyFile: '/s', publicKeyFile: undefined, ttlMs: 5_400_000 });
  const bad: Array<[string, RegExp]> = [
    ['bogus', /unknown token type "bogus"/],
    ['simple,ttl=5m', /"simple" takes no options/],
    ['jwt,priv-key=/k', /jwt needs sign-method/],
    ['jwt,sign-method=XS256,priv-key=/k', /sign-method "XS256" is not one of RS256/],
    ['jwt,sign-method=RS256', /jwt needs priv-key .* or pub-key/],
    ['jwt,sign-method=HS256,pub-key=/k', /HS256 needs priv-key/],
    ['jwt,sign-method=RS256,priv_key=/k', /unknown jwt option "priv_key"/],
    ['jwt,sign-method=RS256,priv-key=', /jwt option "priv-key" has no value/],
    ['jwt,sign-method=RS256,priv-key=/a,priv-key=/b', /"priv-key" is given twice/],
    ['jwt,sign-method=RS256,priv-key=/k,ttl=5', /ttl "5" is not a duration/],
    ['jwt,sign-method=RS256,priv-key=/k,ttl=0s', /ttl "0s" must be at least 1ms/],
  ];
  for (const [v, msg] of bad) assert.throws(() => parseAuthToken(v), msg, v);
  assert.is(goDurationMs('1.5s'), 1500);
  assert.is(goDurationMs('250us'), 0.25);
  assert.is(goDurationMs('2h'), 7_200_000);
});

test('a server whose key file is missing or wrong does not start, and says which file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-jwt-keys-'));
  try {
    writeFileSync(join(dir, 'ec.pem'), ec.ES256.privateKey);
    const attempts: Array<[string, RegExp]> = [
      [`jwt,sign-method=RS256,priv-key=${join(dir, 'nope.pem')}`, /--auth-token priv-key=.*nope\.pem: ENOENT/],
      [`jwt,sign-method=RS256,priv-key=${join(dir, 'ec.pem')}`, /RS256 needs an RSA key, got ec/],
    ];
    for (const [flag, msg] of attempts) {
      const started = startServer(watchkvConfig(join(dir, 'data'), ['--auth-token', flag]));
      await started.then(
        async (s) => {
          await s.close();
          assert.unreachable(`started with ${flag}`);
        },
        (err: Error) => assert.match(err.message, msg),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
