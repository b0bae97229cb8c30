/**
 * Snapshot and restore as a user does them: `watchkv snapshot save` against a live server under
 * write load, `snapshot status`, `snapshot restore` into a new data dir, a server started on it.
 * The restored store must equal the source at the snapshot's revision, and a watch must resume
 * from it. Also: etcd's gateway wire shape of POST /v3/maintenance/snapshot, records of other
 * rooms (leases) copied too, and damaged files refused with a clear message.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LevelBackend } from '../../src/backend/level-backend.ts';
import { startServer } from '../../src/server.ts';
import { snapshotStatus } from '../../src/cli/snapshot-commands.ts';
import { restoreSnapshot } from '../../src/snapshot/snapshot-restore.ts';
import { watchkvConfig } from '../support/etcd-pair.ts';
import { b64, post } from '../support/http-client.ts';
import { readHistory } from '../faults/server-process.ts';
import { root } from '../support/built-server.ts';

/** `watchkv ARGS` from the sources, asynchronously (the server under test runs in this process). */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function rejects(p: Promise<unknown>, message: RegExp, label: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.match((err as Error).message, message, label);
    return;
  }
  assert.unreachable(`${label}: accepted`);
}

/** Where a snapshot file's trailer starts: after the 36-byte header and every record. */
function trailerStart(file: Buffer): number {
  let at = 36;
  while (file[at] === 1) at += 9 + file.readUInt32BE(at + 1) + file.readUInt32BE(at + 5);
  return at;
}

const everything = (revision?: number) => ({ key: b64('\0'), range_end: b64('\0'), ...(revision ? { revision } : {}) });

test('save under write load, restore, same store at the snapshot revision, a watch resumes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-snap-'));
  const source = await startServer(watchkvConfig(join(dir, 'src')));
  let restored: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    const url = source.address;
    for (let i = 0; i < 300; i++) {
      const key = `/k/${i % 60}`;
      const r = i % 7 === 6 ? await post(url, '/v3/kv/deleterange', { key: b64(key) }) : await post(url, '/v3/kv/put', { key: b64(key), value: b64(`v${i}`) });
      assert.is(r.status, 200);
    }
    assert.is((await post(url, '/v3/kv/compaction', { revision: 100, physical: true })).status, 200);

    let writing = true;
    let acked = 0;
    const writer = async (w: number) => {
      for (let i = 0; writing; i++) {
        const r = await post(url, '/v3/kv/put', { key: b64(`/w/${w}/${i % 25}`), value: b64(`x${i}`.padEnd(200, '.')) });
        assert.is(r.status, 200);
        acked++;
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    while (acked < 100) await new Promise((r) => setTimeout(r, 5));
    const file = join(dir, 'backup.wkv');
    const before = acked;
    const saved = await cli('snapshot', 'save', file, '--endpoints', url);
    const during = acked - before;
    writing = false;
    await Promise.all(writers);
    assert.is(saved.code, 0, saved.stderr);
    assert.match(saved.stdout, /Snapshot saved at/);
    console.log(`snapshot: ${during} writes acknowledged while the save ran`);

    const status = await cli('snapshot', 'status', file, '-w', 'json');
    assert.is(status.code, 0, status.stderr);
    const st = JSON.parse(status.stdout);
    const rev: number = st.revision;
    assert.ok(rev > 300, `snapshot revision ${rev}`);
    assert.is(st.compactRevision, 100);
    assert.is(st.checksumOk, true);
    assert.is(st.size, readFileSync(file).length);
    assert.match(st.sha256, /^[0-9a-f]{64}$/);
    const table = await cli('snapshot', 'status', file);
    assert.match(table.stdout, new RegExp(`REVISION\\s+${rev}\\n`));
    assert.match(table.stdout, /CHECKSUM\s+OK/);

    const target = join(dir, 'restored');
    const r = await cli('snapshot', 'restore', file, '--data-dir', target);
    assert.is(r.code, 0, r.stderr);
    restored = await startServer(watchkvConfig(target));

    // Same store at the snapshot's revision, and nothing after it.
    const a = await post(url, '/v3/kv/range', everything(rev));
    const b = await post(restored.address, '/v3/kv/range', everything(rev));
    assert.is(b.status, 200);
    assert.equal(b.body.kvs, a.body.kvs);
    assert.is(b.body.count, a.body.count);
    assert.is(st.keys, Number(a.body.count), 'status counts the live keys');
    const now = await post(restored.address, '/v3/kv/range', everything());
    assert.is(now.body.header.revision, String(rev), 'the restored store is at the snapshot revision');
    for (const old of [150, 250]) {
      const x = await post(url, '/v3/kv/range', everything(old));
      const y = await post(restored.address, '/v3/kv/range', everything(old));
      assert.equal(y.body.kvs, x.body.kvs, `history at ${old}`);
    }
    const compacted = await post(restored.address, '/v3/kv/range', everything(99));
    assert.is(compacted.status, 400, 'the compaction came along');

    // The check an operator runs: etcdctl's HashKV at the snapshot revision agrees on both.
    // (Not spawnSync: both servers run in this process and must keep answering.)
    const hashkv = async (endpoint: string): Promise<string> => {
      const p = spawn('etcdctl', [`--endpoints=${endpoint}`, 'endpoint', 'hashkv', `--rev=${rev}`, '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' } });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      await new Promise((r) => p.on('close', r));
      const hash = /"hash":(\d+)/.exec(out)?.[1];
      assert.ok(hash, `etcdctl endpoint hashkv on ${endpoint}: ${out}`);
      return hash;
    };
    assert.is(await hashkv(restored.address), await hashkv(url), 'HashKV at the snapshot revision');

    // A watch resumes: history up to the snapshot revision equals the source's, then new writes.
    const from = rev - 40;
    assert.equal(await readHistory(restored.address, from, rev), await readHistory(url, from, rev));
    const next = await post(restored.address, '/v3/kv/put', { key: b64('/after'), value: b64('restore') });
    assert.is(next.body.header.revision, String(rev + 1));
    const resumed = await readHistory(restored.address, rev + 1, rev + 1);
    assert.equal(resumed, [{ rev: rev + 1, type: 'PUT', key: '/after', value: 'restore' }]);
  } finally {
    await restored?.close();
    await source.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The raw snapshot stream: every line parsed. */
function snapshotLines(url: string, body = '{}'): Promise<{ status: number; lines: any[] }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL('/v3/maintenance/snapshot', url), { method: 'POST' }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, lines: text.split('\n').filter(Boolean).map((l) => JSON.parse(l)) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('POST /v3/maintenance/snapshot: etcd gateway lines; every backend record (leases too) comes along', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-snap-'));
  const backend = new LevelBackend(join(dir, 'db'));
  const server = await startServer(watchkvConfig(dir), backend);
  try {
    for (let i = 0; i < 20; i++) await post(server.address, '/v3/kv/put', { key: b64(`/big/${i}`), value: b64('z'.repeat(10_000)) });
    // Another room's record under its own prefix, as the lessor keeps its leases.
    const leaseKey = Buffer.from('l\x00\x00\x00\x00\x00\x00\x00\x2a');
    await backend.write([{ type: 'put', key: leaseKey, value: Buffer.from('ttl=60') }]);

    const { status, lines } = await snapshotLines(server.address);
    assert.is(status, 200);
    assert.ok(lines.length > 3, `several 32 KiB blobs, got ${lines.length}`);
    let total = 0;
    const blobs = lines.map((l, i) => {
      assert.equal(Object.keys(l), ['result'], `line ${i} shape`);
      for (const k of Object.keys(l.result)) assert.ok(k === 'blob' || k === 'remaining_bytes', `field ${k}`);
      const blob = Buffer.from(l.result.blob, 'base64');
      total += blob.length;
      return blob;
    });
    const size = total;
    let seen = 0;
    lines.forEach((l, i) => {
      seen += blobs[i]!.length;
      const remaining = size - seen;
      if (remaining > 0) assert.is(l.result.remaining_bytes, String(remaining), `line ${i} remaining_bytes`);
      else assert.is(l.result.remaining_bytes, undefined, 'the last line omits remaining_bytes 0');
    });
    assert.ok(blobs.slice(0, -1).every((b) => b.length === 32 * 1024), "etcd's 32 KiB blobs");
    const file = join(dir, 'raw.wkv');
    writeFileSync(file, Buffer.concat(blobs));
    const st = await snapshotStatus(file);
    assert.is(st.keys, 20);

    const target = join(dir, 'restored');
    await restoreSnapshot(file, target);
    const copy = new LevelBackend(target);
    await copy.open();
    try {
      assert.is((await copy.get(leaseKey))?.toString(), 'ttl=60', 'the lease record was copied');
    } finally {
      await copy.close();
    }

    const bad = await post(server.address, '/v3/maintenance/snapshot', '{"x":');
    assert.is(bad.status, 400);
    assert.is(bad.body.code, 3);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('damaged files are refused with a clear message; restore writes nothing from them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-snap-'));
  const server = await startServer(watchkvConfig(join(dir, 'src')));
  try {
    for (let i = 0; i < 50; i++) await post(server.address, '/v3/kv/put', { key: b64(`/d/${i}`), value: b64(`value-${i}`) });
    const good = join(dir, 'good.wkv');
    const saved = await cli('snapshot', 'save', good, '--endpoints', server.address);
    assert.is(saved.code, 0, saved.stderr);
    const bytes = readFileSync(good);

    const variants: Array<[string, Buffer, RegExp]> = [
      ['cut in half', bytes.subarray(0, bytes.length >> 1), /truncated/],
      ['cut before the trailer', bytes.subarray(0, trailerStart(bytes)), /truncated: ends at byte \d+ without its trailer/],
      ['cut inside the padding', bytes.subarray(0, trailerStart(bytes) + 10), /truncated: ends inside the trailer/],
      ['last byte missing', bytes.subarray(0, bytes.length - 1), /truncated/],
      ['a flipped bit', Buffer.from(bytes).fill(bytes[bytes.length >> 1]! ^ 1, bytes.length >> 1, (bytes.length >> 1) + 1), /checksum mismatch|corrupted/],
      ['bytes after the trailer', Buffer.concat([bytes, Buffer.from('x')]), /unexpected bytes after the trailer/],
      ['not a snapshot', Buffer.from('{"just":"json"}'), /not a watchkv snapshot/],
      ['empty', Buffer.alloc(0), /empty file/],
    ];
    for (const [i, [label, content, message]] of variants.entries()) {
      const file = join(dir, 'bad.wkv');
      writeFileSync(file, content);
      const target = join(dir, `restore-${i}`);
      if (i < 2) {
        // Through the command, as a user sees it (the others through the same functions, faster).
        const st = await cli('snapshot', 'status', file);
        assert.is(st.code, 1, `${label}: status fails`);
        assert.match(st.stderr, message, `${label}: ${st.stderr}`);
        assert.match(st.stderr, /^watchkv: snapshot .*bad\.wkv: /, `${label}: one clear line`);
        const rs = await cli('snapshot', 'restore', file, '--data-dir', target);
        assert.is(rs.code, 1, `${label}: restore fails`);
        assert.match(rs.stderr, message);
      } else {
        await rejects(snapshotStatus(file), message, label);
        await rejects(restoreSnapshot(file, target), message, label);
      }
      assert.ok(!existsSync(target) || readdirSync(target).length === 0, `${label}: nothing restored`);
    }

    // A data dir that holds anything is refused.
    const busy = join(dir, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'keep.txt'), 'mine');
    const rs = await cli('snapshot', 'restore', good, '--data-dir', busy);
    assert.is(rs.code, 1);
    assert.match(rs.stderr, /not empty/);
    assert.equal(readdirSync(busy), ['keep.txt']);
    // save does not overwrite, and leaves no partial file when the server is unreachable.
    const again = await cli('snapshot', 'save', good, '--endpoints', server.address);
    assert.is(again.code, 1);
    assert.match(again.stderr, /already exists/);
    const down = await cli('snapshot', 'save', join(dir, 'never.wkv'), '--endpoints', 'http://127.0.0.1:1');
    assert.is(down.code, 1);
    assert.match(down.stderr, /cannot reach/);
    assert.not.ok(existsSync(join(dir, 'never.wkv')) || existsSync(join(dir, 'never.wkv.part')));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
