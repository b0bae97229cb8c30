/**
 * watchkv as users run it: `npm start` (npm → sh → node dist/server.js). A signal sent to npm's
 * own pid — what a terminal, systemd or a container runtime does — must stop the server
 * gracefully and leave no process behind; a second signal during shutdown exits at once without
 * losing an acknowledged write. Also: --version, JSON logs when piped, pretty ones on a terminal,
 * and the debug access log.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { b64, post } from '../support/http-client.ts';
import { DEFAULTS } from '../../src/config.ts';
import { ensureBuilt, isAlive, npmStart, pidsMentioning, portIsFree, root, spawnProc } from '../support/built-server.ts';

ensureBuilt();
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'watchkv-npm-'));
}

test('--version prints the package version', () => {
  const r = spawnSync(process.execPath, [join(root, 'dist/server.js'), '--version'], { encoding: 'utf8' });
  assert.is(r.status, 0);
  assert.is(r.stdout.trim(), `watchkv ${version}`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to npm's pid stops watchkv gracefully, nothing left behind`, async () => {
    const dir = tempDir();
    const { proc, url, serverPid } = await npmStart(dir);
    try {
      assert.ok(serverPid !== proc.child.pid, 'the server runs in its own process under npm');
      const put = await post(url, '/v3/kv/put', { key: b64('/sig/a'), value: b64('1') });
      assert.is(put.status, 200);
      const ws = new WebSocket(url.replace('http', 'ws') + '/v3/watch');
      const closeCode = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));

      process.kill(proc.child.pid!, signal);
      const exit = await proc.exited;
      assert.is(exit.code, 0, `npm exits 0 after a graceful stop: ${JSON.stringify(exit)}\n${proc.lines.join('\n')}`);
      assert.ok(proc.logs().some((l) => l.msg === 'watchkv stopping' && l.signal === signal), 'logs the signal');
      const stopped = proc.logs().find((l) => l.msg === 'watchkv stopped');
      assert.ok(stopped, `the stopped line:\n${proc.lines.join('\n')}`);
      assert.is(stopped.revision, Number(put.body.header.revision));
      assert.not.ok(isAlive(serverPid), 'the server process is gone');
      assert.equal(pidsMentioning(dir), [], 'no process left with the data dir on its command line');
      assert.ok(await portIsFree(Number(new URL(url).port)), 'the port is free');
      assert.is(await closeCode, 1001, 'the watch socket got its close frame');
    } finally {
      await proc.destroy(serverPid);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('Ctrl-C in a terminal (SIGINT to npm and the server at once) still stops gracefully', async () => {
  const dir = tempDir();
  const { proc, url, serverPid } = await npmStart(dir);
  try {
    assert.is((await post(url, '/v3/kv/put', { key: b64('/c'), value: b64('1') })).status, 200);
    // The terminal signals the whole foreground process group; npm forwards its copy as well.
    process.kill(serverPid, 'SIGINT');
    process.kill(proc.child.pid!, 'SIGINT');
    const exit = await proc.exited;
    assert.is(exit.code, 0, proc.lines.join('\n'));
    assert.ok(proc.logs().some((l) => l.msg === 'watchkv stopped'), 'graceful, not forced');
    assert.not.ok(proc.logs().some((l) => /second signal/.test(l.msg ?? '')));
    assert.not.ok(isAlive(serverPid));
  } finally {
    await proc.destroy(serverPid);
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A request whose body never finishes: it keeps graceful shutdown waiting. Resolves once the
 * server has parsed its headers (it answers `Expect: 100-continue`), so the request is surely in
 * flight, not an idle connection that shutdown may drop.
 */
async function stalledRequest(url: string): Promise<http.ClientRequest> {
  const req = http.request(new URL('/v3/kv/put', url), { method: 'POST', headers: { 'content-length': '1000', expect: '100-continue' } });
  req.on('error', () => {});
  req.flushHeaders();
  await new Promise((resolve) => req.once('continue', resolve));
  req.write('{"key":');
  return req;
}

test('a second SIGTERM during shutdown exits at once, and no acknowledged write is lost', async () => {
  const dir = tempDir();
  const first = await npmStart(dir);
  const acked: Array<{ key: string; value: string; rev: number }> = [];
  let exited = false;
  try {
    // Writers under load until the process is gone; only a 200 counts as acknowledged.
    const writer = async (w: number) => {
      for (let i = 0; !exited; i++) {
        const key = `/load/w${w}`;
        const value = `v${i}`;
        try {
          const r = await post(first.url, '/v3/kv/put', { key: b64(key), value: b64(value) }, 5000);
          if (r.status === 200) acked.push({ key, value, rev: Number(r.body.header.revision) });
          else await new Promise((r) => setTimeout(r, 2));
        } catch {
          await new Promise((r) => setTimeout(r, 2));
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    while (acked.length < 300) await new Promise((r) => setTimeout(r, 5));
    const stall = await stalledRequest(first.url);
    process.kill(first.proc.child.pid!, 'SIGTERM');
    await first.proc.waitLog((l) => l.msg === 'watchkv stopping');
    // Past the window in which a repeat counts as the same signal (see the Ctrl-C test).
    await new Promise((r) => setTimeout(r, DEFAULTS.signalRepeatIgnoreMs + 50));
    process.kill(first.proc.child.pid!, 'SIGTERM');
    const exit = await first.proc.exited;
    exited = true;
    stall.destroy();
    await Promise.all(writers);
    assert.ok(first.proc.logs().some((l) => /second signal/.test(l.msg)), `the forced exit says so:\n${first.proc.lines.join('\n')}`);
    assert.not.ok(first.proc.logs().some((l) => l.msg === 'watchkv stopped'), 'it did not wait for the graceful stop');
    assert.is.not(exit.code, 0, 'a forced exit is not a clean one');
    assert.not.ok(isAlive(first.serverPid), 'the server process is gone');
    assert.equal(pidsMentioning(dir), []);
  } finally {
    exited = true;
    await first.proc.destroy(first.serverPid);
  }
  const again = await npmStart(dir);
  try {
    for (const a of acked) {
      const r = await post(again.url, '/v3/kv/range', { key: b64(a.key), revision: a.rev });
      assert.is(r.body.kvs?.[0]?.mod_revision, String(a.rev), `acknowledged ${a.key}@${a.rev} lost`);
      assert.is(Buffer.from(r.body.kvs[0].value, 'base64').toString(), a.value);
    }
    console.log(`double SIGTERM: ${acked.length} acknowledged writes, all present after restart`);
  } finally {
    process.kill(again.proc.child.pid!, 'SIGTERM');
    await again.proc.exited;
    await again.proc.destroy(again.serverPid);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the built `watchkv` command: --version, and serve runs the server with the same flags', async () => {
  const v = spawnSync(join(root, 'dist/cli.js'), ['--version'], { encoding: 'utf8' });
  assert.is(v.status, 0, v.stderr);
  assert.is(v.stdout.trim(), `watchkv ${version}`);
  const dir = tempDir();
  const proc = spawnProc(join(root, 'dist/cli.js'), ['serve', '--listen-client-urls', 'http://127.0.0.1:0', '--data-dir', dir, '--max-txn-ops', '3']);
  try {
    const started = await proc.waitLog((l) => l.msg === 'watchkv started');
    const txn = await post(started.address, '/v3/kv/txn', { success: Array.from({ length: 4 }, (_, i) => ({ request_put: { key: b64(`k${i}`), value: b64('v') } })) });
    assert.is(txn.status, 400, 'the server flag reached the server');
    process.kill(proc.child.pid!, 'SIGTERM');
    assert.is((await proc.exited).code, 0);
    assert.ok(proc.logs().some((l) => l.msg === 'watchkv stopped'));
  } finally {
    await proc.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const bad = spawnSync(join(root, 'dist/cli.js'), ['serve', '--max-txn-ops', 'many'], { encoding: 'utf8' });
  assert.is(bad.status, 2);
});

test('--log-level debug: one access line per request (method, path, status, duration)', async () => {
  const dir = tempDir();
  const { proc, url, serverPid } = await npmStart(dir, ['--log-level', 'debug']);
  try {
    await post(url, '/v3/kv/put', { key: b64('/a'), value: b64('1') });
    await post(url, '/v3/kv/range', { key: '!!' });
    const put = await proc.waitLog((l) => l.msg === 'request' && l.path === '/v3/kv/put');
    assert.is(put.method, 'POST');
    assert.is(put.status, 200);
    assert.type(put.durationMs, 'number');
    const bad = await proc.waitLog((l) => l.msg === 'request' && l.path === '/v3/kv/range');
    assert.is(bad.status, 400);
    // A WebSocket watch is logged when its socket closes (fastify never sees its reply).
    const ws = new WebSocket(url.replace('http', 'ws') + '/v3/watch');
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.close();
    const upgrade = await proc.waitLog((l) => l.msg === 'request' && l.path === '/v3/watch');
    assert.is(upgrade.method, 'GET');
    assert.is(upgrade.status, 101);
    assert.is(proc.logs().filter((l) => l.msg === 'request').length, 3, 'one line per request');
  } finally {
    process.kill(proc.child.pid!, 'SIGTERM');
    await proc.exited;
    await proc.destroy(serverPid);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('logs are JSON when piped (above), human-readable on a terminal', async () => {
  if (spawnSync('script', ['--version']).status !== 0) {
    console.log('note: `script` (util-linux) missing, terminal variant skipped');
    return;
  }
  const dir = tempDir();
  // script(1) gives the command a pseudo-terminal as stdout.
  const cmd = `npm start -- --listen-client-urls http://127.0.0.1:0 --data-dir ${dir}`;
  const proc = spawnProc('script', ['-qec', cmd, '/dev/null']);
  try {
    const deadline = Date.now() + 30_000;
    while (!proc.lines.some((l) => l.includes('watchkv started')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const line = proc.lines.find((l) => l.includes('watchkv started'));
    assert.ok(line, `started line:\n${proc.lines.join('\n')}`);
    assert.match(line!, /INFO/);
    assert.not.ok(line!.trim().startsWith('{'), 'not a JSON line');
  } finally {
    for (const pid of pidsMentioning(dir)) process.kill(pid, 'SIGTERM');
    await proc.exited;
    for (const pid of pidsMentioning(dir)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
