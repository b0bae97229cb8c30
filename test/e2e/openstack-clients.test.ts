/**
 * Two of OpenStack's etcd clients, from Debian, run one script (test/support/
 * openstack-clients-script.py) against a fresh etcd 3.4 and a fresh watchkv; what it prints must
 * be the same:
 * - etcd3gw on the JSON gateway (requests): KV, replace, txn, leases (IDs sent as JSON numbers
 *   above 2^53), its watch read chunk by chunk, watch_once, a watch from a revision, its lock;
 *   under /v3/ and again under /v3beta/ (3.3's prefix, which etcd 3.4 still serves);
 * - tooz's etcd3 driver on gRPC (python-etcd3): groups, capabilities, locks, and a member whose
 *   membership lease lapses when it stops heartbeating.
 * Then the one place the two servers differ on purpose: a watched value of 200 KB. etcd 3.4's
 * gateway sends the newline after a message of 2 KiB or more as a chunk of its own, and etcd3gw,
 * parsing each chunk as JSON, stops watching there; watchkv sends each message and its newline
 * as one chunk, so the watch goes on. Skipped, with the reason printed, only when /usr/bin/python3
 * cannot import them (.ci/run installs them).
 */
import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { pairForSuite, type Target } from '../support/etcd-pair.ts';
import { PYTHON, pythonCanImport, runPython, type PythonRun } from '../support/python-script.ts';

const SCRIPT = fileURLToPath(new URL('../support/openstack-clients-script.py', import.meta.url));
const available = pythonCanImport('etcd3gw, tooz.coordination, etcd3');

function runScript(t: Target, apiPath: string, bigBytes: number): Promise<PythonRun> {
  const { hostname, port } = new URL(t.url);
  return runPython(SCRIPT, [hostname, port, apiPath, String(bigBytes)]);
}

/** The script's steps by name (value as JSON). */
function steps(out: string): Map<string, string> {
  return new Map(
    out
      .split('\n')
      .filter((l) => l.startsWith('['))
      .map((l) => JSON.parse(l) as [string, unknown])
      .map(([name, value]) => [name, JSON.stringify(value)]),
  );
}

/** The watch of four changes under /gw/w/, as etcd3gw delivered them: [type, key, value length]. */
function watched(out: string): Array<[string, string, number]> {
  const line = steps(out).get('watch prefix');
  assert.ok(line, 'the script reached its watch');
  return (JSON.parse(line!) as Array<[string, string, string, number]>).map(([type, key, , len]) => [type, key, len]);
}

// A value of 1,000 bytes makes a message under 2 KiB: both servers send it as one chunk.
async function sameOnBoth(etcd: Target, wk: Target, apiPath: string): Promise<void> {
  const [e, w] = await Promise.all([runScript(etcd, apiPath, 1000), runScript(wk, apiPath, 1000)]);
  assert.is(e.code, 0, `against etcd: ${e.stderr.slice(-1500)}`);
  assert.is(w.code, 0, `against watchkv: ${w.stderr.slice(-1500)}`);
  assert.fixture(w.stdout, e.stdout);
  const s = steps(w.stdout);
  assert.is(s.get('lease refresh'), 'true', 'a keepalive of a lease whose ID came as a JSON number');
  assert.equal(watched(w.stdout), [['PUT', '/gw/w/0', 1], ['PUT', '/gw/w/1', 1000], ['PUT', '/gw/w/2', 1], ['DELETE', '/gw/w/0', 0]]);
  assert.is(s.get('after b lapsed'), '["member-a"]');
  assert.is(s.get('v3alpha'), JSON.stringify(['Etcd3Exception', '404 page not found\n']));
  assert.match(w.stdout, /^done$/m);
}

if (available) {
  for (const apiPath of ['/v3/', '/v3beta/']) {
    const s = suite(apiPath);
    const pair = pairForSuite(s);
    s(`etcd3gw (gateway under ${apiPath}) and tooz (gRPC): the same results from etcd and watchkv`, () => sameOnBoth(pair.etcd, pair.wk, apiPath));
    s.run();
  }

  const big = suite('a 200 KB value');
  const pair = pairForSuite(big);
  big("etcd3gw's chunk-by-chunk watch goes on past a 200 KB event on watchkv; on etcd 3.4 it stops there", async () => {
    const [e, w] = await Promise.all([runScript(pair.etcd, '/v3/', 200_000), runScript(pair.wk, '/v3/', 200_000)]);
    assert.is(w.code, 0, `against watchkv: ${w.stderr.slice(-1500)}`);
    assert.equal(watched(w.stdout), [['PUT', '/gw/w/0', 1], ['PUT', '/gw/w/1', 200_000], ['PUT', '/gw/w/2', 1], ['DELETE', '/gw/w/0', 0]]);
    assert.is(e.code, 0, `against etcd: ${e.stderr.slice(-1500)}`);
    // etcd 3.4: the big event arrives, then the lone "\n" chunk fails etcd3gw's json.loads and
    // its watch ends: the two later events are lost (unless etcd happened to send all four in
    // one response, which a slow watch start can cause).
    const onEtcd = watched(e.stdout);
    assert.equal(onEtcd.slice(0, 2), [['PUT', '/gw/w/0', 1], ['PUT', '/gw/w/1', 200_000]]);
    if (onEtcd.length < 4) assert.is(onEtcd.length, 2);
  });
  big.run();
} else {
  console.log(`SKIP test/e2e/openstack-clients.test.ts: ${PYTHON} cannot import etcd3gw, tooz and etcd3 (install Debian's "python3-etcd3gw python3-tooz python3-etcd3"; .ci/run does)`);
  test.skip('etcd3gw and tooz against etcd and watchkv (needs python3-etcd3gw, python3-tooz)', () => {});
  test.run();
}
