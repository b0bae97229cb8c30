/**
 * Starts the two servers a differential test compares: a real etcd 3.4 on loopback (data dir on
 * /dev/shm when it exists, so etcd's fsyncs do not dominate the run) and a watchkv in-process on
 * 127.0.0.1 port 0 with a temporary data dir.
 *
 * A missing etcd is a test failure, never a silent skip: CI installs it (scripts/install-etcd.sh).
 * DIFF_AGAINST=etcd compares etcd with a second etcd instead — a sanity check of the harness
 * itself (everything but the listed known differences must then agree).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdBinary, startEtcd } from '../../scripts/etcd-server.ts';
import { loadConfig } from '../../src/cli-options.ts';
import type { ServerConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';

/** Captured before startEtcdTarget points TMPDIR at /dev/shm for etcd's sake. */
const TMP = tmpdir();

export interface Target {
  url: string;
  stop(): Promise<void>;
}

export async function startEtcdTarget(extraArgs: string[] = []): Promise<Target> {
  if (!etcdBinary()) {
    throw new Error('etcd is not installed (expected /usr/bin/etcd, Debian package etcd-server 3.4): run scripts/install-etcd.sh — the differential tests cannot run without it');
  }
  const saved = process.env.TMPDIR;
  if (existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';
  try {
    const e = await startEtcd({ extraArgs });
    // A test process that dies early (uncaught error, EPIPE on a closed stdout) must not leave
    // etcd running: kill it on exit too. (SIGKILL of the test process itself cannot be covered.)
    const reap = () => {
      try {
        process.kill(e.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    process.once('exit', reap);
    return {
      url: e.url,
      stop: async () => {
        process.off('exit', reap);
        await e.stop();
      },
    };
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

/** `flags`: server flags both take (etcd's names, e.g. --quota-backend-bytes). */
export async function startWatchkvTarget(flags: string[] = []): Promise<Target> {
  if (process.env.DIFF_AGAINST === 'etcd') return startEtcdTarget(flags);
  if (process.env.DIFF_AGAINST === 'upstream') {
    // watchkv in upstream mode (issue 18) in front of its own fresh etcd: the comparison then
    // checks the forwarding, the mirror and the watch engine fed by etcd against etcd itself.
    const behind = await startEtcdTarget(flags);
    const server = await startServer({ ...watchkvConfig(TMP, flags), upstreamEndpoints: [behind.url] });
    return {
      url: server.address,
      stop: async () => {
        await server.close();
        await behind.stop();
      },
    };
  }
  const dir = mkdtempSync(join(TMP, 'watchkv-diff-'));
  const server = await startServer(watchkvConfig(dir, flags));
  return {
    url: server.address,
    stop: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A real etcd and a watchkv side by side for a whole test file: started in the suite's `before`,
 * stopped in its `after`; read `pair.etcd` and `pair.wk` inside the tests.
 */
export function pairForSuite(suite: { before(fn: () => Promise<void>): void; after(fn: () => Promise<void>): void }): { etcd: Target; wk: Target } {
  const pair = {} as { etcd: Target; wk: Target };
  suite.before(async () => {
    [pair.etcd, pair.wk] = await Promise.all([startEtcdTarget(), startWatchkvTarget()]);
  });
  suite.after(async () => {
    await Promise.all([pair.etcd?.stop(), pair.wk?.stop()]);
  });
  return pair;
}

/** A full server config for an in-process watchkv on 127.0.0.1 port 0. */
export function watchkvConfig(dataDir: string, flags: string[] = []): ServerConfig {
  const config = loadConfig(['--listen-client-urls', 'http://127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn', ...flags], {});
  if (typeof config === 'string') throw new Error('unreachable: no --help or --version given');
  return config;
}
