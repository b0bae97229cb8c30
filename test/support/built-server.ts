/**
 * watchkv run the way users run it: `npm start` (node dist/server.js under npm and sh) or the
 * built entry points directly. `ensureBuilt` rebuilds dist/ when a source is newer than it, so
 * these tests never run stale output during development (after `npm ci` it is already fresh).
 * The server listens on port 0 and the helpers learn the address from its "watchkv started" log
 * line, which also carries the server process's pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    newest = Math.max(newest, s.isDirectory() ? newestMtime(p) : s.mtimeMs);
  }
  return newest;
}

export function ensureBuilt(): void {
  const out = join(root, 'dist/server.js');
  if (existsSync(out) && statSync(out).mtimeMs >= newestMtime(join(root, 'src'))) return;
  const r = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

export interface Proc {
  child: ChildProcess;
  /** Every stdout + stderr line so far. */
  lines: string[];
  /** Parsed JSON log lines so far. */
  logs(): any[];
  /** Resolves with the first JSON log line `pred` accepts; rejects on exit or timeout. */
  waitLog(pred: (l: any) => boolean, timeoutMs?: number): Promise<any>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the child and, when known, the server process it started. */
  destroy(serverPid?: number): Promise<void>;
}

export function spawnProc(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let partial = { out: '', err: '' };
  const grab = (which: 'out' | 'err') => (d: Buffer) => {
    const text = partial[which] + d.toString();
    const parts = text.split('\n');
    partial[which] = parts.pop()!;
    lines.push(...parts);
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', grab('out'));
  child.stderr!.on('data', grab('err'));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      done = true;
      for (const l of [partial.out, partial.err]) if (l) lines.push(l);
      for (const w of [...waiters]) w();
      resolve({ code, signal });
    }),
  );
  const logs = () =>
    lines.flatMap((l) => {
      try {
        const v = JSON.parse(l);
        return v && typeof v === 'object' ? [v] : [];
      } catch {
        return [];
      }
    });
  const waitLog = (pred: (l: any) => boolean, timeoutMs = 30_000) =>
    new Promise<any>((resolve, reject) => {
      const check = () => {
        const hit = logs().find(pred);
        if (hit) return finish(() => resolve(hit));
        if (done) finish(() => reject(new Error(`process exited before the expected log line:\n${lines.join('\n')}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no expected log line after ${timeoutMs} ms:\n${lines.join('\n')}`))), timeoutMs);
      const finish = (f: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });
  return {
    child,
    lines,
    logs,
    waitLog,
    exited,
    destroy: async (serverPid) => {
      if (serverPid !== undefined && isAlive(serverPid)) process.kill(serverPid, 'SIGKILL');
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** `npm start -- ARGS` on an ephemeral port; resolves once the server logged its address. */
export async function npmStart(dataDir: string, extraArgs: string[] = []): Promise<{ proc: Proc; url: string; serverPid: number }> {
  const proc = spawnProc('npm', ['start', '--', '--listen-client-urls', 'http://127.0.0.1:0', '--data-dir', dataDir, ...extraArgs]);
  const started = await proc.waitLog((l) => l.msg === 'watchkv started');
  return { proc, url: started.address, serverPid: started.pid };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Pids of the live processes whose command line mentions `text` (e.g. a test's data dir). */
export function pidsMentioning(text: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** True when nothing listens on 127.0.0.1:port any more (we can bind it ourselves). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
