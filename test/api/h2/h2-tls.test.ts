/**
 * Which HTTP/2 layer serves a TLS connection (ALPN h2): watchkv's own (src/api/h2/) when calls
 * cannot be identified by a client certificate, node:http2 + grpc-js when they can
 * (--client-cert-auth: only grpc-js reads the peer certificate). Told apart by the SETTINGS each
 * sends (the own layer opens a 1 MiB stream window; node:http2 keeps 64 KiB), and a Put answered
 * over each.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import { startTestServer } from '../../support/test-server.ts';
import { TestPki } from '../../support/test-pki.ts';
import { grpcMessage, pbBytes } from '../../support/raw-h2.ts';

const pki = new TestPki('watchkv-h2tls-');
const f = (n: string): string => pki.path(n);
test.before(() => {
  pki.ca();
  pki.leaf('server', { usage: 'server' });
  pki.leaf('root', { usage: 'client' });
});
test.after(() => pki.remove());

/** The server's initial stream window, and the grpc-status of one Put. */
async function probe(url: string, clientCert: boolean): Promise<{ window: number; status: string }> {
  const session = http2.connect(url, { ca: readFileSync(f('ca.crt')), ...(clientCert ? { cert: readFileSync(f('root.crt')), key: readFileSync(f('root.key')) } : {}) });
  try {
    await new Promise<void>((resolve, reject) => {
      session.once('remoteSettings', () => resolve());
      session.once('error', reject);
    });
    const window = session.remoteSettings.initialWindowSize ?? 65_535;
    const req = session.request({ ':method': 'POST', ':path': '/etcdserverpb.KV/Put', 'content-type': 'application/grpc', te: 'trailers' });
    req.end(grpcMessage(pbBytes([[1, Buffer.from('tls')], [2, Buffer.from('v')]])));
    req.resume();
    const status = await new Promise<string>((resolve) => req.once('trailers', (t) => resolve(String(t['grpc-status']))));
    return { window, status };
  } finally {
    session.close();
  }
}

const cases: Array<[string, boolean, number]> = [
  ['TLS without client-certificate auth: the own layer', false, 1024 * 1024],
  ['TLS with --client-cert-auth: node:http2 and grpc-js, which read the certificate', true, 65_535],
];
for (const [name, clientCertAuth, window] of cases) {
  test(name, async () => {
    const ca = clientCertAuth ? { trustedCaFile: f('ca.crt'), clientCertAuth } : {};
    const s = await startTestServer({ listenClientUrls: 'https://127.0.0.1:0', certFile: f('server.crt'), keyFile: f('server.key'), ...ca }, { memory: true });
    try {
      assert.equal(await probe(s.url, clientCertAuth), { window, status: '0' });
    } finally {
      await s.stop();
    }
  });
}

test.run();
