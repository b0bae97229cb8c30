/**
 * watchkv as a real child process (src/server.ts) on a LevelDB data dir, for the fault tests that
 * need SIGKILL or a start-up refusal. Also: a helper that reads a key range's full history back
 * through a watch, which is how the fault tests see every revision.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { freePort } from '../../scripts/etcd-server.ts';
import { b64, openWsWatch, post } from '../support/http-client.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** stdout + stderr so far (last 20 kB). */
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export async function spawnServer(dataDir: string, extraArgs: string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/server.ts'), '--listen-client-urls', url, '--data-dir', dataDir, '--log-level', 'warn', ...extraArgs], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const grab = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
  child.stdout!.on('data', grab);
  child.stderr!.on('data', grab);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  return {
    url,
    child,
    output: () => out,
    exited,
    kill9: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Waits until the server answers a range, or throws with its output if it exits or stalls. */
export async function waitReady(s: ServerProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | string | undefined;
  void s.exited.then((c) => (exitedWith = c));
  for (;;) {
    if (exitedWith !== undefined) throw new Error(`watchkv exited at start (${exitedWith}):\n${s.output()}`);
    try {
      const r = await post(s.url, '/v3/kv/range', { key: b64('/') }, 2000);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`watchkv not ready after ${timeoutMs} ms:\n${s.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface HistEvent {
  rev: number;
  type: 'PUT' | 'DELETE';
  key: string;
  value: string;
}

export function toHist(ev: any): HistEvent {
  return {
    rev: Number(ev.kv.mod_revision),
    type: ev.type === 'DELETE' ? 'DELETE' : 'PUT',
    key: Buffer.from(ev.kv.key, 'base64').toString('utf8'),
    value: Buffer.from(ev.kv.value ?? '', 'base64').toString('utf8'),
  };
}

/** Every event on all keys from `startRev` through `untilRev`, read with one WebSocket watch. */
export async function readHistory(url: string, startRev: number, untilRev: number, timeoutMs = 20_000): Promise<HistEvent[]> {
  const ws = await openWsWatch(url);
  try {
    ws.send({ create_request: { key: b64('\0'), range_end: b64('\0'), start_revision: startRev } });
    await ws.waitFor((m) => m.result?.created, 5000);
    if (untilRev >= startRev) {
      await ws.waitFor((m) => m.result?.canceled || (m.result?.events ?? []).some((e: any) => Number(e.kv.mod_revision) >= untilRev), timeoutMs);
    }
    const canceled = ws.messages.find((m) => m.result?.canceled);
    if (canceled) throw new Error(`history watch from ${startRev} canceled: ${JSON.stringify(canceled)}`);
    return ws.messages.flatMap((m) => (m.result?.events ?? []).map(toHist)).filter((e) => e.rev <= untilRev);
  } finally {
    await ws.close();
  }
}
