/**
 * Rotating the TLS certificate without a restart (src/api/security/tls-files.ts), with the
 * server run as users run it (node dist/server.js) and etcdctl as the client. It starts with a
 * certificate etcdctl does not trust; the files are then replaced the ways rotations do it (a
 * rename of each file, so for a moment a new certificate sits beside the old key; a Kubernetes
 * style symlink swap; a truncated file). Each new connection gets the files as they are; a
 * half-rotated or broken pair is never served (the previous one stays, a warning says why);
 * connections already open go on; with --client-cert-auth a rotated CA bundle applies too;
 * /metrics shows the served certificate's expiry and the rotations.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import tls from 'node:tls';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import WebSocket from 'ws';
import { ensureBuilt, spawnProc, type Proc } from '../../support/built-server.ts';
import { TestPki } from '../../support/test-pki.ts';

const pki = new TestPki('watchkv-tls-reload-');
const f = (n: string): string => pki.path(n);

/** Replaces `to` at once, as `mv` does: a reader sees the old file or the new one, never half. */
function replace(from: string, to: string): void {
  copyFileSync(from, `${to}.tmp`);
  renameSync(`${to}.tmp`, to);
}

let proc: Proc | undefined;
let url = '';

async function start(args: string[]): Promise<void> {
  ensureBuilt();
  mkdirSync(f('data'), { recursive: true });
  proc = spawnProc(process.execPath, ['dist/server.js', '--listen-client-urls', 'https://127.0.0.1:0', '--data-dir', f('data'), ...args]);
  url = (await proc.waitLog((l) => l.msg === 'watchkv started')).address;
}

/** The serial number of the certificate a new connection is given (trusting anything). */
function servedSerial(): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.end();
    });
    s.on('error', reject);
  });
}

function httpsGet(u: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(u, { ca: readFileSync(f('ca.crt')) }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function etcdctl(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('etcdctl', [`--endpoints=${url}`, '--dial-timeout=3s', '--command-timeout=5s', ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
  });
}

test.before(() => {
  pki.ca('ca');
  pki.ca('other-ca');
  pki.leaf('untrusted', { usage: 'server', by: 'other-ca', serial: '0x0bad' });
  pki.leaf('s1', { usage: 'server', serial: '0x1001' });
  pki.leaf('s2', { usage: 'server', serial: '0x1002' });
  pki.leaf('alice', { usage: 'client', serial: '0x2001' });
  pki.leaf('bob', { usage: 'client', by: 'other-ca', serial: '0x2002' });
});
test.after.each(async () => {
  await proc?.destroy();
  proc = undefined;
  rmSync(f('data'), { recursive: true, force: true });
});
test.after(() => {
  pki.remove();
});

test('a rotated server certificate applies to new connections, without a restart', async () => {
  // Kubernetes mounts a secret as live -> ..data -> a dated directory, and swaps the link.
  mkdirSync(f('v1'));
  copyFileSync(f('untrusted.crt'), f('v1/tls.crt'));
  copyFileSync(f('untrusted.key'), f('v1/tls.key'));
  symlinkSync(f('v1'), f('live'));
  await start(['--cert-file', f('live/tls.crt'), '--key-file', f('live/tls.key')]);
  const cacert = `--cacert=${f('ca.crt')}`;

  const refused = await etcdctl([cacert, 'put', 'k', 'before']);
  assert.is.not(refused.code, 0, refused.out);
  assert.match(refused.out, /certificate|x509|handshake|deadline/i, refused.out);
  assert.is(await servedSerial(), '0BAD');

  // A watch opened before the rotation (over the old certificate) goes on after it.
  const ws = new WebSocket(url.replace('https', 'wss') + '/v3/watch', { rejectUnauthorized: false });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const events: string[] = [];
  ws.on('message', (d) => {
    for (const e of JSON.parse(String(d)).result?.events ?? []) events.push(Buffer.from(e.kv.value, 'base64').toString());
  });
  ws.send(JSON.stringify({ create_request: { key: Buffer.from('k').toString('base64') } }));

  // Renamed one file at a time: the new certificate beside the old key is never served.
  replace(f('s1.crt'), f('v1/tls.crt'));
  assert.is(await servedSerial(), '0BAD');
  const warned = await proc!.waitLog((l) => l.level === 40 && /cannot be used/.test(l.msg), 5_000);
  assert.match(warned.reason, /key values mismatch/i);
  replace(f('s1.key'), f('v1/tls.key'));
  assert.is(await servedSerial(), '1001');
  await proc!.waitLog((l) => l.msg === 'TLS certificate files changed: new connections use them', 5_000);

  const put = await etcdctl([cacert, 'put', 'k', 'after']);
  assert.is(put.code, 0, put.out);
  assert.is((await etcdctl([cacert, 'get', 'k', '--print-value-only'])).out.trim(), 'after');
  for (let i = 0; !events.includes('after'); i++) {
    if (i === 100) throw new Error(`the watch opened before the rotation got ${JSON.stringify(events)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  ws.close();

  // The symlink swap, and a broken file after it (kept out until fixed).
  mkdirSync(f('v2'));
  copyFileSync(f('s2.crt'), f('v2/tls.crt'));
  copyFileSync(f('s2.key'), f('v2/tls.key'));
  symlinkSync(f('v2'), f('live.new'));
  renameSync(f('live.new'), f('live'));
  assert.is(await servedSerial(), '1002');
  writeFileSync(f('v2/tls.crt'), readFileSync(f('s1.crt')).subarray(0, 100));
  assert.is(await servedSerial(), '1002');
  assert.is((await etcdctl([cacert, 'get', 'k', '--print-value-only'])).out.trim(), 'after');
  replace(f('s2.crt'), f('v2/tls.crt'));
  assert.is(await servedSerial(), '1002');
  assert.is((await etcdctl([cacert, 'endpoint', 'health'])).code, 0);

  // /metrics: the served certificate's expiry, and the rotations (two taken, two refused).
  const metrics = await httpsGet(`${url}/metrics`);
  const notAfter = Math.floor(Date.parse(new X509Certificate(readFileSync(f('s2.crt'))).validTo) / 1000);
  assert.ok(metrics.includes(`watchkv_tls_certificate_not_after_seconds{cert_file="${f('live/tls.crt')}"} ${notAfter}\n`), metrics);
  assert.match(metrics, /watchkv_tls_file_changes_total\{result="applied"\} 2\n/);
  assert.match(metrics, /watchkv_tls_file_changes_total\{result="refused"\} 2\n/);
});

test('--client-cert-auth: a rotated CA bundle decides which client certificates pass', async () => {
  copyFileSync(f('ca.crt'), f('bundle.crt'));
  await start(['--cert-file', f('s1.crt'), '--key-file', f('s1.key'), '--trusted-ca-file', f('bundle.crt'), '--client-cert-auth']);
  const as = (who: string) => [`--cacert=${f('ca.crt')}`, `--cert=${f(`${who}.crt`)}`, `--key=${f(`${who}.key`)}`];
  assert.is((await etcdctl([...as('alice'), 'put', 'a', '1'])).code, 0);
  const bob = await etcdctl([...as('bob'), 'put', 'b', '1']);
  assert.is.not(bob.code, 0, bob.out);
  writeFileSync(f('bundle.tmp'), Buffer.concat([readFileSync(f('ca.crt')), readFileSync(f('other-ca.crt'))]));
  renameSync(f('bundle.tmp'), f('bundle.crt'));
  const bobAfter = await etcdctl([...as('bob'), 'put', 'b', '1']);
  assert.is(bobAfter.code, 0, bobAfter.out);
  assert.is((await etcdctl([...as('alice'), 'get', 'b', '--print-value-only'])).out.trim(), '1');
});

test.run();
