/**
 * The servers under test as child processes of the harness: watchkv, a real etcd 3.4 and a bare
 * fastify route (the HTTP ceiling). Each is started fresh with its own temporary data dir, is ready
 * when POST /v3/maintenance/status answers 2xx, and stops with SIGTERM (SIGKILL after 30 s).
 * `reopen()` stops a server gracefully and starts it again on the same data dir, timing the start.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { etcdArgs, etcdBinary, freePort } from '../../scripts/etcd-server.ts';
import { sleep } from './keys.ts';

export type ServerKind = 'watchkv' | 'etcd' | 'fastify' | 'nats';

export interface ServerHandle {
  kind: ServerKind;
  url: string;
  /** pid of the server process itself (not a wrapper), for /proc figures */
  pid: number;
  /** ms from spawn to the first 2xx status answer, for the latest start */
  readyMs: number;
  /** Graceful stop (data kept), start again on the same data dir; returns the timings. */
  reopen(readyTimeoutMs?: number): Promise<{ stopMs: number; readyMs: number }>;
  /** Stops the server and removes its data dir. */
  stop(): Promise<void>;
  /** the last few KB of the server's stdout+stderr, and whether it still runs: for error reports */
  output(): string;
  alive(): boolean;
}

export interface StartOptions {
  /** etcd only: --quota-backend-bytes */
  quotaBytes?: number;
  /** nats only: `sync_interval: always` (every message synced) where the server has it; default true */
  natsSync?: boolean;
  readyTimeoutMs?: number;
  /** watchkv only: flags added to its command line (e.g. ['--h2-framing', 'node']). */
  watchkvFlags?: string[];
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/**
 * A graceful stop may take seconds on a big store (watchkv writes its index checkpoint, ~1 s per
 * million keys on a quiet box): killing it early would make the next reopen a full rebuild.
 */
const STOP_GRACE_MS = 30_000;

function statusOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = request(
      { host: u.hostname, port: Number(u.port), path: '/v3/maintenance/status', method: 'POST', agent: false, timeout: 2000, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end('{}');
  });
}

interface Spawned {
  child: ChildProcess;
  readyMs: number;
  output: () => string;
}

async function spawnAndWait(name: string, cmd: string, args: string[], url: string, timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<Spawned> {
  const t0 = performance.now();
  const child = spawn(cmd, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited at start (${child.exitCode ?? child.signalCode}): ${out}`);
    if (await statusOk(url)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} not ready after ${timeoutMs} ms: ${out}`);
    }
    await sleep(10);
  }
  return { child, readyMs: performance.now() - t0, output: () => out };
}

async function stopChild(child: ChildProcess): Promise<number> {
  const t0 = performance.now();
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  return performance.now() - t0;
}

/** Shared shape of a restartable server: `launch` spawns on the fixed url and data dir. */
async function managed(kind: ServerKind, url: string, dir: string | undefined, launch: (timeoutMs: number) => Promise<Spawned>, timeoutMs: number): Promise<ServerHandle> {
  let current = await launch(timeoutMs);
  const handle: ServerHandle = {
    kind,
    url,
    pid: current.child.pid!,
    readyMs: current.readyMs,
    async reopen(readyTimeoutMs = 600_000) {
      const stopMs = await stopChild(current.child);
      current = await launch(readyTimeoutMs);
      handle.pid = current.child.pid!;
      handle.readyMs = current.readyMs;
      return { stopMs, readyMs: current.readyMs };
    },
    async stop() {
      await stopChild(current.child);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    output: () => current.output(),
    alive: () => current.child.exitCode === null && current.child.signalCode === null,
  };
  return handle;
}

/**
 * watchkv as users run it, `node dist/server.js …` (npm start; `npm run bench:compare` builds
 * dist/ first, so it is never stale), run from the repo root. BENCH_WATCHKV_TSX=1 runs the
 * sources through tsx instead (`node --import tsx src/server.ts`): its start compiles
 * TypeScript, which the reopen row would count.
 */
export async function startWatchkv(options: StartOptions = {}): Promise<ServerHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-bench-'));
  const url = `http://127.0.0.1:${await freePort()}`;
  // BENCH_WATCHKV_NODE_ARGS adds node flags, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
  const nodeArgs = (process.env.BENCH_WATCHKV_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const entry = process.env.BENCH_WATCHKV_TSX === '1' ? ['--import', 'tsx', 'src/server.ts'] : ['dist/server.js'];
  const args = [...nodeArgs, ...entry, '--listen-client-urls', url, '--data-dir', join(dir, 'data'), '--log-level', 'warn', ...(options.watchkvFlags ?? [])];
  return managed('watchkv', url, dir, (t) => spawnAndWait('watchkv', process.execPath, args, url, t), options.readyTimeoutMs ?? 60_000);
}

/** A real etcd (Debian etcd-server 3.4) on loopback with its own data dir. */
export async function startEtcdServer(options: StartOptions = {}): Promise<ServerHandle> {
  const bin = etcdBinary();
  if (!bin) throw new Error('etcd is not installed: run scripts/install-etcd.sh (Debian package etcd-server)');
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-bench-etcd-'));
  const url = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const args = etcdArgs(join(dir, 'data'), url, peer, options);
  const env = { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch };
  return managed('etcd', url, dir, (t) => spawnAndWait('etcd', bin, args, url, t, env), options.readyTimeoutMs ?? 60_000);
}

/** The bare fastify route of bench/lib/fastify-ceiling.ts, in its own process. */
export async function startFastifyCeiling(): Promise<ServerHandle> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ['--import', 'tsx', 'bench/lib/fastify-ceiling.ts', String(port)];
  return managed('fastify', url, undefined, (t) => spawnAndWait('fastify', process.execPath, args, url, t), 30_000);
}

/**
 * NATS with JetStream (Debian `nats-server`) for the queue row: file storage in its own data dir;
 * ready when its monitoring port's /healthz answers 200 (JetStream included). `url` is nats://.
 * Per-message fsync (`sync_interval: always`, as the queue issue asks) needs nats-server >= 2.10
 * (scripts/install-nats.sh provides Debian trixie's); on an older server (bookworm ships 2.9.10)
 * the config leaves it out and JetStream syncs every 2 minutes, which favours NATS:
 * bench/compare/queue.ts reports which it was.
 */
export async function startNatsServer(options: StartOptions = {}): Promise<ServerHandle> {
  const bin = natsBinary();
  if (!bin) throw new Error('nats-server is not installed: bash scripts/install-nats.sh');
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-bench-nats-'));
  const port = await freePort();
  const monitor = await freePort();
  const syncAlways = options.natsSync !== false && natsSupportsSyncAlways(bin);
  const conf = join(dir, 'nats.conf');
  writeFileSync(
    conf,
    `port: ${port}\nhost: 127.0.0.1\nhttp: 127.0.0.1:${monitor}\nmax_payload: 1MB\njetstream {\n  store_dir: ${JSON.stringify(join(dir, 'js'))}\n${syncAlways ? '  sync_interval: always\n' : ''}}\n`,
  );
  const url = `nats://127.0.0.1:${port}`;
  const health = `http://127.0.0.1:${monitor}`;
  const launch = async (timeoutMs: number): Promise<Spawned> => {
    const t0 = performance.now();
    const child = spawn(bin, ['-c', conf], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer): void => {
      out = (out + d.toString()).slice(-4000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nats-server exited at start (${child.exitCode ?? child.signalCode}): ${out}`);
      const ok = await fetch(`${health}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`nats-server not ready after ${timeoutMs} ms: ${out}`);
      }
      await sleep(20);
    }
    return { child, readyMs: performance.now() - t0, output: () => out };
  };
  return managed('nats', url, dir, launch, options.readyTimeoutMs ?? 30_000);
}

/**
 * The nats-server to run: BENCH_NATS_SERVER, else scripts/install-nats.sh's bench/.bin/nats-server
 * (Debian trixie's 2.10, which can sync every message), else the one on the PATH.
 */
export function natsBinary(): string | undefined {
  const local = join(repoRoot, 'bench', '.bin', 'nats-server');
  for (const bin of [process.env.BENCH_NATS_SERVER, local, 'nats-server']) {
    if (!bin) continue;
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return bin;
  }
  return undefined;
}

/** sync_interval (and its `always`) arrived in nats-server 2.10. */
export function natsSupportsSyncAlways(bin = natsBinary() ?? 'nats-server'): boolean {
  const v = /v(\d+)\.(\d+)/.exec(spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout ?? '');
  return v !== null && (Number(v[1]) > 2 || (Number(v[1]) === 2 && Number(v[2]) >= 10));
}

export function startServer(kind: ServerKind, options: StartOptions = {}): Promise<ServerHandle> {
  if (kind === 'watchkv') return startWatchkv(options);
  if (kind === 'etcd') return startEtcdServer(options);
  if (kind === 'nats') return startNatsServer(options);
  return startFastifyCeiling();
}
