/**
 * A real etcd 3.4 and an in-process watchkv side by side over TLS for a whole test file, both
 * started with the same certificates and `--client-cert-auth` (every client must present a
 * certificate signed by `ca`). Made in the suite's `before`: the CA `ca`, the server certificate
 * `server` (for 127.0.0.1 and localhost; also a client certificate, which etcd 3.4's JSON gateway
 * needs to dial its own port) and the client certificate `root` (CN root). A test adds any other
 * certificates it needs with `pki.leaf(...)`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd } from '../../scripts/etcd-server.ts';
import { startServer } from '../../src/server.ts';
import { watchkvConfig, type Target } from './etcd-pair.ts';
import { TestPki } from './test-pki.ts';

export interface TlsPair {
  etcd: Target;
  wk: Target;
  pki: TestPki;
}

export function tlsPairForSuite(suite: { before(fn: () => Promise<void>): void; after(fn: () => Promise<void>): void }): TlsPair {
  const pair = { pki: new TestPki('watchkv-tls-pair-') } as TlsPair;
  const f = (n: string): string => pair.pki.path(n);
  const dataDir = mkdtempSync(join(tmpdir(), 'watchkv-tls-pair-data-'));
  suite.before(async () => {
    pair.pki.ca();
    pair.pki.leaf('server', { usage: 'server+client' });
    pair.pki.leaf('root', { usage: 'client' });
    const tls = { cert: f('server.crt'), key: f('server.key'), ca: f('ca.crt') };
    const [etcd, wk] = await Promise.all([
      startEtcd({ tls: { ...tls, clientCertAuth: true, probeCert: f('root.crt'), probeKey: f('root.key') } }),
      startServer(watchkvConfig(dataDir, ['--listen-client-urls', 'https://127.0.0.1:0', '--cert-file', tls.cert, '--key-file', tls.key, '--trusted-ca-file', tls.ca, '--client-cert-auth'])),
    ]);
    pair.etcd = etcd;
    pair.wk = { url: wk.address, stop: () => wk.close() };
  });
  suite.after(async () => {
    await Promise.all([pair.etcd?.stop(), pair.wk?.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
    pair.pki.remove();
  });
  return pair;
}
