/**
 * Maintenance.Snapshot over gRPC, driven by the real etcdctl: `etcdctl snapshot save` against a
 * live watchkv while a writer keeps writing. The file it saves is a watchkv snapshot: its
 * checksum verifies, and restored into a new data dir it holds exactly the source's store at the
 * snapshot's revision. Cancelling mid-stream (a client that goes away) leaves the server healthy.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, type RunningServer } from '../../../src/server.ts';
import { readSnapshot } from '../../../src/snapshot/snapshot-reader.ts';
import { restoreSnapshot } from '../../../src/snapshot/snapshot-restore.ts';
import { watchkvConfig } from '../../support/etcd-pair.ts';
import { b64, post } from '../../support/http-client.ts';

function etcdctl(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('etcdctl', args, { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => (clearTimeout(timer), resolve({ code: code ?? -1, stdout, stderr })));
  });
}

const everything = (revision?: number) => ({ key: b64('\0'), range_end: b64('\0'), ...(revision ? { revision } : {}) });
let dir = '';
let server: RunningServer;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'watchkv-grpc-snap-'));
  server = await startServer(watchkvConfig(join(dir, 'src')));
});
test.after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('etcdctl snapshot save under write load: a verified watchkv snapshot equal to the store at its revision', async () => {
  const url = server.address;
  const endpoint = url.replace('http://', '');
  // Values big enough that the file spans many 32 KiB blobs.
  const big = 'x'.repeat(4000);
  for (let i = 0; i < 200; i++) assert.is((await post(url, '/v3/kv/put', { key: b64(`/s/${i % 80}`), value: b64(`${i}:${big}`) })).status, 200);
  let writing = true;
  let acked = 0;
  const writer = (async () => {
    for (let i = 0; writing; i++) if ((await post(url, '/v3/kv/put', { key: b64(`/w/${i % 50}`), value: b64(`w${i}`) })).status === 200) acked++;
  })();
  const file = join(dir, 'etcdctl.snap');
  const r = await etcdctl(['--endpoints', endpoint, 'snapshot', 'save', file]);
  writing = false;
  await writer;
  assert.is(r.code, 0, `etcdctl snapshot save failed: ${r.stderr}`);
  assert.match(r.stdout + r.stderr, /Snapshot saved at/);
  assert.ok(statSync(file).size > 200 * 4000, 'the whole store came across');
  assert.ok(acked > 0, 'writes went on during the snapshot');

  const summary = await readSnapshot(file, async () => {});
  const restoredDir = join(dir, 'restored');
  await restoreSnapshot(file, restoredDir);
  const restored = await startServer(watchkvConfig(restoredDir));
  try {
    const want = await post(url, '/v3/kv/range', everything(summary.revision));
    const got = await post(restored.address, '/v3/kv/range', everything());
    assert.is(got.body.header.revision, String(summary.revision));
    assert.equal(got.body.kvs, want.body.kvs);
  } finally {
    await restored.close();
  }
});

test('a snapshot client that goes away mid-stream leaves the server serving', async () => {
  const endpoint = server.address.replace('http://', '');
  const child = spawn('etcdctl', ['--endpoints', endpoint, 'snapshot', 'save', join(dir, 'cut.snap')], { stdio: 'ignore' });
  // Listen before the kill: on a quick run etcdctl can be done within the 50 ms, and a 'close'
  // listener added after the event would wait forever.
  const closed = new Promise((r) => child.on('close', r));
  await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGKILL');
  await closed;
  const r = await post(server.address, '/v3/kv/put', { key: b64('/after'), value: b64('ok') });
  assert.is(r.status, 200);
  const again = await etcdctl(['--endpoints', endpoint, 'snapshot', 'save', join(dir, 'again.snap')]);
  assert.is(again.code, 0, again.stderr);
});

test.run();
