/**
 * python-etcd3 (Debian's python3-etcd3, on grpcio's C-core gRPC stack rather than grpc-go or
 * grpc-js) runs one script (test/support/python-etcd3-script.py) against a fresh etcd 3.4 and a
 * fresh watchkv: KV, txn, atomic replace, leases, watch callbacks and a watch from a revision,
 * deletes, its lock, member list and compaction errors. What the script prints must be the same;
 * then again over mutual TLS (grpcio's BoringSSL), both servers given the same certificates.
 * Skipped, with the reason printed, only when /usr/bin/python3 cannot import etcd3 (.ci/run
 * installs it).
 */
import { suite, test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { pairForSuite, type Target } from '../../support/etcd-pair.ts';
import { PYTHON, pythonCanImport, runPython, type PythonRun } from '../../support/python-script.ts';
import { tlsPairForSuite } from '../../support/tls-pair.ts';

const SCRIPT = fileURLToPath(new URL('../../support/python-etcd3-script.py', import.meta.url));
const available = pythonCanImport('etcd3');

function runScript(t: Target, tlsFiles: string[] = []): Promise<PythonRun> {
  const { hostname, port } = new URL(t.url);
  return runPython(SCRIPT, [hostname, port, ...tlsFiles], 60_000);
}

/** Runs the script against both: it must end well on each and print the same. */
async function sameOnBoth(etcd: Target, wk: Target, tlsFiles: string[] = []): Promise<void> {
  const e = await runScript(etcd, tlsFiles);
  assert.is(e.code, 0, `against etcd: ${e.stderr.slice(-1500)}`);
  const w = await runScript(wk, tlsFiles);
  assert.is(w.code, 0, `against watchkv: ${w.stderr.slice(-1500)}`);
  assert.fixture(w.stdout, e.stdout);
  // The script ran to its end, through every section.
  assert.match(w.stdout, /^watch \[\('PutEvent', b'\/py\/w\/1', b'one'\)/m);
  assert.match(w.stdout, /^compact again OUT_OF_RANGE etcdserver: mvcc: required revision has been compacted$/m);
  assert.match(w.stdout, /^done$/m);
}

if (available) {
  const plain = suite('plain');
  const pair = pairForSuite(plain);
  plain('python-etcd3: the same script prints the same against etcd and watchkv', () => sameOnBoth(pair.etcd, pair.wk));
  plain.run();

  // grpcio's own TLS stack (BoringSSL) with a client certificate, against both given the same certificates.
  const tls = suite('mutual TLS');
  const tlsPair = tlsPairForSuite(tls);
  tls('python-etcd3 over mutual TLS: the same script prints the same against etcd and watchkv', () =>
    sameOnBoth(tlsPair.etcd, tlsPair.wk, ['ca.crt', 'root.crt', 'root.key'].map((n) => tlsPair.pki.path(n))),
  );
  tls.run();
} else {
  console.log(`SKIP test/api/grpc/python-etcd3.test.ts: ${PYTHON} cannot import etcd3 (install Debian's "python3-etcd3"; .ci/run does)`);
  test.skip('python-etcd3 against etcd and watchkv (needs python3-etcd3)', () => {});
  test.run();
}
