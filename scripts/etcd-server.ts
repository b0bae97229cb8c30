/**
 * Starts a real etcd (Debian's etcd-server, 3.4) on loopback with its own temporary data dir, for
 * the differential tests and the side-by-side benchmarks. `scripts/install-etcd.sh` installs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EtcdHandle {
  /** e.g. http://127.0.0.1:23790 */
  url: string;
  pid: number;
  stop(): Promise<void>;
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
export function etcdArgs(dataDir: string, url: string, peer: string, options: { quotaBytes?: number; extraArgs?: string[] } = {}): string[] {
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
    ...(options.extraArgs ?? []),
  ];
}

export async function startEtcd(options: { quotaBytes?: number; extraArgs?: string[] } = {}): Promise<EtcdHandle> {
  const bin = etcdBinary();
  if (!bin) throw new Error('etcd is not installed: run scripts/install-etcd.sh (Debian package etcd-server)');
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = etcdArgs(join(dir, 'data'), url, peer, options);
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch } });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`etcd exited at start (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${url}/v3/maintenance/status`, { method: 'POST', body: '{}' });
      if (res.ok) break;
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
