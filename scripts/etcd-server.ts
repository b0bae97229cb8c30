/**
 * Starts a real etcd (Debian's etcd-server, 3.4) on loopback with its own temporary data dir, for
 * the differential tests and the side-by-side benchmarks. `scripts/install-etcd.sh` installs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EtcdHandle {
  /** e.g. http://127.0.0.1:23790 */
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** TLS for the client port: PEM file paths; `clientCertAuth` asks every client for a certificate. */
export interface EtcdTls {
  cert: string;
  key: string;
  ca: string;
  clientCertAuth?: boolean;
  /** a client certificate (and key) the readiness probe presents when clientCertAuth is on */
  probeCert?: string;
  probeKey?: string;
}

export interface EtcdOptions {
  quotaBytes?: number;
  extraArgs?: string[];
  tls?: EtcdTls;
}

export function etcdBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return path || undefined;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Command-line flags for a single-member etcd on loopback with its own data dir. */
export function etcdArgs(dataDir: string, url: string, peer: string, options: EtcdOptions = {}): string[] {
  const tls = options.tls;
  return [
    '--name', 'bench',
    '--data-dir', dataDir,
    '--listen-client-urls', url,
    '--advertise-client-urls', url,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `bench=${peer}`,
    '--log-level', 'error',
    ...(options.quotaBytes ? ['--quota-backend-bytes', String(options.quotaBytes)] : []),
    ...(tls ? ['--cert-file', tls.cert, '--key-file', tls.key, '--trusted-ca-file', tls.ca] : []),
    ...(tls?.clientCertAuth ? ['--client-cert-auth'] : []),
    ...(options.extraArgs ?? []),
  ];
}

/** True once etcd answers a status request (over https with the probe's certificates when TLS is on). */
async function answers(url: string, tls: EtcdTls | undefined): Promise<boolean> {
  if (!tls) {
    const res = await fetch(`${url}/v3/maintenance/status`, { method: 'POST', body: '{}' });
    return res.ok;
  }
  return new Promise((resolve, reject) => {
    const cert = tls.probeCert ? { cert: readFileSync(tls.probeCert), key: readFileSync(tls.probeKey ?? '') } : {};
    const req = request(`${url}/v3/maintenance/status`, { method: 'POST', ca: readFileSync(tls.ca), ...cert }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', reject);
    req.end('{}');
  });
}

export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdHandle> {
  const bin = etcdBinary();
  if (!bin) throw new Error('etcd is not installed: run scripts/install-etcd.sh (Debian package etcd-server)');
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = etcdArgs(join(dir, 'data'), url, peer, options);
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch } });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`etcd exited at start (${child.exitCode}): ${stderr}`);
    try {
      if (await answers(url, options.tls)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`etcd did not become ready: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
