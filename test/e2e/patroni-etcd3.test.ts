/**
 * Patroni (Debian's `patroni`, the PostgreSQL HA manager) keeps its cluster state in etcd through
 * the JSON gateway: urllib3 over HTTP/1.1, leases for its member and leader keys, compare-and-swap
 * through /kv/txn, and one streaming /watch per member that it reads by splitting chunks into JSON
 * objects. Its etcd3 DCS runs one script (test/support/patroni-dcs-script.py: two members
 * initialise, race for the leader key, write config/history/sync, hand leadership over, let their
 * leases lapse, delete the cluster) against a fresh etcd 3.4 and a fresh watchkv; what it prints
 * must be the same. Then with Patroni signing in (username/password, its token on every call) and
 * over mutual TLS. No PostgreSQL is involved: the DCS is driven directly, as Patroni's HA loop
 * drives it. Skipped, with the reason printed, only when /usr/bin/python3 cannot import patroni
 * (.ci/run installs it).
 */
import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { pairForSuite, type Target } from '../support/etcd-pair.ts';
import { b64, post } from '../support/http-client.ts';
import { PYTHON, pythonCanImport, runPython, type PythonRun as Run } from '../support/python-script.ts';
import { tlsPairForSuite } from '../support/tls-pair.ts';

const SCRIPT = fileURLToPath(new URL('../support/patroni-dcs-script.py', import.meta.url));
const available = pythonCanImport('patroni.dcs.etcd3, idna');

const runScript = (t: Target, scope: string, extra: string[] = []): Promise<Run> => runPython(SCRIPT, [new URL(t.url).host, scope, ...extra]);

/** Both servers at once (the script spends most of its time waiting on a lease's TTL). */
async function sameOnBoth(etcd: Target, wk: Target, scope: string, extra: string[] = []): Promise<void> {
  const [e, w] = await Promise.all([runScript(etcd, scope, extra), runScript(wk, scope, extra)]);
  assert.is(e.code, 0, `against etcd: ${e.stderr.slice(-1500)}`);
  assert.is(w.code, 0, `against watchkv: ${w.stderr.slice(-1500)}`);
  assert.fixture(w.stdout, e.stdout);
  // The script ran through every step, and the steps did what they are for.
  const steps = new Map(
    w.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { step: string; value: unknown })
      .map((s) => [s.step, JSON.stringify(s.value)]),
  );
  assert.is(steps.get('initialize a'), 'true');
  assert.is(steps.get('initialize b'), 'false');
  assert.is(steps.get('config cas stale'), 'false');
  assert.is(steps.get('watch b sees release'), JSON.stringify({ before_timeout: true, woke: true }));
  assert.is(steps.get('leader a sees'), '"node2"');
  assert.is(steps.get('watch a sees expiry'), JSON.stringify({ after_ttl: true, woke: true }));
  assert.is(steps.get('after expiry'), JSON.stringify({ leader: null, members: [] }));
  assert.is(steps.get('leader b sees'), '"node1"');
  assert.match(w.stdout, /^done$/m);
}

/** root, and `patroni` (password patronipw) who may read and write under /service/; then auth on. */
async function enablePatroniAuth(t: Target): Promise<void> {
  const calls: Array<[string, unknown]> = [
    ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
    ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
    ['/v3/auth/role/add', { name: 'patroni' }],
    ['/v3/auth/role/grant', { name: 'patroni', perm: { permType: 'READWRITE', key: b64('/service/'), range_end: b64('/service0') } }],
    ['/v3/auth/user/add', { name: 'patroni', password: 'patronipw' }],
    ['/v3/auth/user/grant', { user: 'patroni', role: 'patroni' }],
    ['/v3/auth/enable', {}],
  ];
  for (const [path, body] of calls) {
    const r = await post(t.url, path, body);
    assert.is(r.status, 200, `${path} on ${t.url}: ${JSON.stringify(r.body)}`);
  }
}

if (available) {
  const plain = suite('plain');
  const pair = pairForSuite(plain);
  plain("Patroni's etcd3 DCS: two members' lifecycle prints the same against etcd and watchkv", () => sameOnBoth(pair.etcd, pair.wk, 'plain'));
  plain.run();

  const auth = suite('auth');
  const authPair = pairForSuite(auth);
  auth.before(async () => {
    await enablePatroniAuth(authPair.etcd);
    await enablePatroniAuth(authPair.wk);
  });
  auth('with auth on, Patroni signs in and sends its token: the same lifecycle against both', () =>
    sameOnBoth(authPair.etcd, authPair.wk, 'signed', ['patroni', 'patronipw']),
  );
  auth('a wrong password: Patroni stops at start-up, with the same words against both', async () => {
    const [e, w] = await Promise.all([runScript(authPair.etcd, 'wrong', ['patroni', 'nope']), runScript(authPair.wk, 'wrong', ['patroni', 'nope'])]);
    const failure = (r: Run): string => r.stderr.split('\n').find((l) => l.includes('authentication failed')) ?? r.stderr.slice(-500);
    assert.is(e.code, 1, e.stderr.slice(-800));
    assert.is(w.code, 1, w.stderr.slice(-800));
    assert.match(failure(e), /Etcd3 authentication failed: .*authentication failed, invalid user ID or password/);
    assert.is(failure(w), failure(e));
  });
  auth.run();

  const tls = suite('mutual TLS');
  const tlsPair = tlsPairForSuite(tls);
  tls('over mutual TLS (urllib3 with a client certificate): the same lifecycle against both', () =>
    sameOnBoth(tlsPair.etcd, tlsPair.wk, 'tls', ['https', ...['ca.crt', 'root.crt', 'root.key'].map((n) => tlsPair.pki.path(n))]),
  );
  tls.run();
} else {
  console.log(`SKIP test/e2e/patroni-etcd3.test.ts: ${PYTHON} cannot import patroni (install Debian's "patroni"; .ci/run does)`);
  test.skip("Patroni's etcd3 DCS against etcd and watchkv (needs patroni)", () => {});
  test.run();
}
