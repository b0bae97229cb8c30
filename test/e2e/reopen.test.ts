/**
 * Restart as a user sees it: a real server process on a LevelDB dir, stopped with SIGTERM (it
 * writes its index checkpoint) or killed with SIGKILL (it does not), started again. The log
 * says how the open went (keys, records read, checkpoint or not) and every key is there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../scripts/etcd-server.ts';
import { CHECKPOINT_FILE } from '../../src/mvcc/kv-store.ts';
import { b64, post } from '../support/http-client.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Proc {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  url: string;
}

async function start(dir: string): Promise<Proc> {
  const url = `http://127.0.0.1:${await freePort()}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts', '--listen-client-urls', url, '--data-dir', dir, '--log-level', 'info'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let rest = '';
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop()!;
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  const deadline = Date.now() + 30_000;
  while (!lines.some((l) => l.msg === 'watchkv started')) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, lines, url };
}

async function stop(p: Proc, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill(signal);
  await exited;
}

async function putMany(url: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 100) {
    const success = [];
    for (let j = i; j < Math.min(to, i + 100); j++) success.push({ request_put: { key: b64(`k/${String(j).padStart(5, '0')}`), value: b64(`v${j}`) } });
    const r = await post(url, '/v3/kv/txn', { success });
    assert.is(r.status, 200);
  }
}

async function count(url: string): Promise<number> {
  const r = await post(url, '/v3/kv/range', { key: b64('k/'), range_end: b64('k0'), count_only: true });
  return Number((r.body as { count?: string }).count ?? 0);
}

const opened = (p: Proc) => p.lines.find((l) => l.msg === 'store opened')!;

test('SIGTERM writes the checkpoint, the restart loads it; after kill -9 the tail is replayed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-reopen-'));
  try {
    let p = await start(dir);
    await putMany(p.url, 0, 1500);
    await stop(p, 'SIGTERM');
    assert.ok(existsSync(join(dir, CHECKPOINT_FILE)), 'checkpoint written at a clean stop');

    p = await start(dir);
    assert.ok(p.lines.some((l) => /checkpoint loaded/.test(String(l.msg))), 'log says the checkpoint was loaded');
    assert.equal([opened(p).keys, opened(p).records], [1500, 0]);
    assert.is(await count(p.url), 1500);
    await putMany(p.url, 1500, 1800);
    await stop(p, 'SIGKILL');

    p = await start(dir);
    assert.equal([opened(p).keys, opened(p).records], [1800, 300], 'the old checkpoint plus the 300 records after it');
    assert.is(await count(p.url), 1800);
    await stop(p, 'SIGTERM');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
