/**
 * The npm `etcd3` client over TLS with client certificates (`credentials: { rootCertificate,
 * privateKey, certChain }`), against a real etcd 3.4 and watchkv side by side, both started with
 * the same certificates and `--client-cert-auth`: KV, watch and leases through mutual TLS; once
 * auth is on, the certificate's CN is the user (no password) and a role limits what it may write;
 * a client with no certificate, or one that does not trust the server's CA, fails on both.
 * Each step must end alike on both: the same value, or the same error class and message.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import { tlsPairForSuite } from '../../support/tls-pair.ts';
import { callOutcome } from '../../support/call-outcome.ts';
import { enableAuthWithAlice } from '../../support/etcd3-auth-setup.ts';
import { until } from '../../support/watch-harness.ts';

const clients: Etcd3[] = [];
// Registered before the pair's, so the clients close before the servers stop.
test.after(() => {
  for (const c of clients) c.close();
});
const pair = tlsPairForSuite(test);
const f = (n: string): string => pair.pki.path(n);
const urls = (): string[] => [pair.etcd.url, pair.wk.url];

/** A client of `url` that trusts `ca` and, given a user, presents that user's certificate. */
function client(url: string, o: { user?: string; ca?: string } = {}): Etcd3 {
  const credentials: IOptions['credentials'] = { rootCertificate: readFileSync(f(`${o.ca ?? 'ca'}.crt`)) };
  if (o.user) {
    credentials.privateKey = readFileSync(f(`${o.user}.key`));
    credentials.certChain = readFileSync(f(`${o.user}.crt`));
  }
  const c = new Etcd3({ hosts: url, credentials, dialTimeout: 3000, defaultCallOptions: () => ({ deadline: Date.now() + 5000 }) });
  clients.push(c);
  return c;
}

/** The same call on both servers, each with its own client: the outcomes must be equal. */
async function same(what: string, call: (c: Etcd3) => Promise<unknown>, o: { user?: string; ca?: string } = {}): Promise<string> {
  const [e, w] = await Promise.all(urls().map((u) => callOutcome(call(client(u, o)))));
  assert.is(w, e, what);
  return w;
}

test.before(async () => {
  pair.pki.ca('other');
  pair.pki.leaf('alice', { usage: 'client' });
});

test('mutual TLS, auth off: put, get, a watch and a lease work alike', async () => {
  const root = { user: 'root' };
  assert.is(await same('put', (c) => c.put('/app/a').value('1').then(() => 'put'), root), 'ok "put"');
  assert.is(await same('get', (c) => c.get('/app/a').string(), root), 'ok "1"');
  for (const url of urls()) {
    const c = client(url, { user: 'root' });
    const w = await c.watch().prefix('/app/').create();
    const seen: string[] = [];
    w.on('put', (kv) => seen.push(`${kv.key.toString()}=${kv.value.toString()}`));
    await c.put('/app/b').value('2');
    await until(() => seen.length === 1, 5000, `${url}: the watch saw the put`);
    assert.equal(seen, ['/app/b=2'], url);
    await w.cancel();
    const lease = c.lease(30, { autoKeepAlive: false });
    await lease.put('/app/leased').value('x');
    const ttl = await c.lease(30, { autoKeepAlive: false }).grant();
    assert.ok(ttl.length > 0, `${url}: a lease id`);
    assert.is(await c.get('/app/leased').string(), 'x', url);
    await lease.revoke();
    assert.is(await c.get('/app/leased').string(), null, `${url}: revoking the lease deleted its key`);
  }
});

test('a client without a certificate, or one that does not trust the server, fails on both', async () => {
  for (const o of [{}, { user: 'root', ca: 'other' }]) {
    const outcomes = await Promise.all(urls().map((u) => callOutcome(client(u, o).get('/app/a').string())));
    for (const [i, out] of outcomes.entries()) assert.not.ok(out.startsWith('ok'), `${urls()[i]} ${JSON.stringify(o)}: ${out}`);
    // The TLS stacks word their alerts differently (Go and OpenSSL); the class must agree.
    assert.is(outcomes[1]!.split(':')[0], outcomes[0]!.split(':')[0], JSON.stringify(o));
  }
});

test('auth on: the certificate CN is the user, and its role bounds what it may read and write', async () => {
  for (const url of urls()) {
    await enableAuthWithAlice(client(url, { user: 'root' }));
  }
  const alice = { user: 'alice' };
  assert.is(await same('alice writes in her range', (c) => c.put('/app/c').value('3').then(() => 'put'), alice), 'ok "put"');
  assert.is(await same('alice reads in her range', (c) => c.get('/app/c').string(), alice), 'ok "3"');
  assert.match(await same('alice writes outside it', (c) => c.put('/other').value('x').exec(), alice), 'permission denied');
  assert.match(await same('alice reads outside it', (c) => c.get('/other').string(), alice), 'permission denied');
  assert.match(await same('alice lists the users', (c) => c.getUsers(), alice), 'permission denied');
  assert.is(await same('root lists the users', (c) => c.getUsers().then((us) => us.map((u) => u.name).sort()), { user: 'root' }), 'ok ["alice","root"]');
  for (const url of urls()) {
    const c = client(url, alice);
    const w = await c.watch().prefix('/app/').create();
    const seen: string[] = [];
    w.on('put', (kv) => seen.push(kv.key.toString()));
    await client(url, { user: 'root' }).put('/app/d').value('4');
    await until(() => seen.length === 1, 5000, `${url}: alice's watch saw root's put`);
    assert.equal(seen, ['/app/d'], url);
    await w.cancel();
  }
});

test.run();
