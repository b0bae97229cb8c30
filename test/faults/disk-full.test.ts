/**
 * A full disk / unwritable data dir: writes fail with a clear JSON error, reads and watches keep
 * working, nothing acknowledged is lost, a failed write burns no revision and emits no event, and
 * writes work again once space returns. Three variants: MemoryBackend.failWrites, a LevelBackend
 * whose writes throw ENOSPC, and (when this machine lets us mount one) a real 2 MiB tmpfs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { BatchOp, ScanOptions } from '../../src/backend/backend.ts';
import { recordKey } from '../../src/mvcc/kv-codec.ts';
import { LevelBackend, writeError } from '../../src/backend/level-backend.ts';
import { kvError } from '../../src/errors.ts';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { watchkvConfig } from '../support/etcd-pair.ts';
import { b64, openWsWatch, post, type WatchSession } from '../support/http-client.ts';

const enospc = () => Object.assign(new Error('IO error: /data/000005.log: No space left on device'), { code: 'ENOSPC' });

/** A LevelBackend that can refuse writes as a full disk does, and counts full index rebuilds. */
class FailingLevelBackend extends LevelBackend {
  failing = false;
  /** Scans from the very first record: what an index rebuild (restoreIndex) does. */
  fullScans = 0;
  override async write(ops: readonly BatchOp[]): Promise<void> {
    if (this.failing) throw writeError(enospc()); // what LevelBackend makes of LevelDB's ENOSPC
    return super.write(ops);
  }
  override async scan(options: ScanOptions): Promise<Array<[Buffer, Buffer]>> {
    if (options.gte?.equals(recordKey(0, 0))) this.fullScans++;
    return super.scan(options);
  }
}

interface Acked {
  key: string;
  value: string;
  rev: number;
}

async function put(url: string, key: string, value: string): Promise<{ status: number; body: any }> {
  return post(url, '/v3/kv/put', { key: b64(key), value: b64(value) });
}

async function assertAcksIntact(url: string, acks: Acked[], label: string): Promise<void> {
  for (const a of acks) {
    const r = await post(url, '/v3/kv/range', { key: b64(a.key), revision: a.rev });
    assert.is(r.status, 200, `${label}: read ${a.key}@${a.rev}`);
    assert.is(r.body.kvs?.[0]?.mod_revision, String(a.rev), `${label}: ${a.key}@${a.rev} lost`);
    assert.is(Buffer.from(r.body.kvs[0].value, 'base64').toString(), a.value, `${label}: ${a.key}@${a.rev} value`);
  }
}

/** The shared scenario: `breakDisk` makes writes fail, `heal` gives the space back. */
/** What breaking the disk did: the first failed reply (if it came from a write) and the writes acknowledged on the way. */
type Broken = void | { first?: { body: any }; acked: Acked[] };

async function scenario(
  server: RunningServer,
  breakDisk: () => Broken | Promise<Broken>,
  heal: () => void | Promise<void>,
  label: string,
  valueBytes = 64,
  fullScans?: () => number,
): Promise<Acked[]> {
  const url = server.address;
  const acks: Acked[] = [];
  const watch: WatchSession = await openWsWatch(url);
  watch.send({ create_request: { key: b64('/full/'), range_end: b64('/full0') } });
  await watch.waitFor((m) => m.result?.created);
  for (let i = 0; i < 10; i++) {
    const value = `v${i}-`.padEnd(valueBytes, 'x');
    const r = await put(url, `/full/k${i % 4}`, value);
    assert.is(r.status, 200, `${label}: healthy put`);
    acks.push({ key: `/full/k${i % 4}`, value, rev: Number(r.body.header.revision) });
  }
  await watch.waitFor((m) => (m.result?.events ?? []).some((e: any) => Number(e.kv.mod_revision) === acks[acks.length - 1]!.rev));
  const broken = await breakDisk();
  if (broken) acks.push(...broken.acked);
  const lastRev = acks[acks.length - 1]!.rev;
  const first = broken ? broken.first : undefined;
  // Writes: every kind of write keeps answering etcd's "database space exceeded" (429,
  // ResourceExhausted) for as long as the disk is full, not 503 "unavailable".
  const messages: string[] = first ? [first.body.message] : [];
  const writes = [
    ['/v3/kv/put', { key: b64('/full/new'), value: b64('nope') }],
    ['/v3/kv/deleterange', { key: b64('/full/k0') }],
    ['/v3/kv/txn', { success: [{ request_put: { key: b64('/full/t'), value: b64('t') } }] }],
  ] as const;
  // The first failed batch costs one index rebuild (its txn ran ahead of the disk); later refused
  // writes must not cost another each.
  const scansBefore = fullScans?.();
  for (let round = 0; round < 5; round++) {
    for (const [path, body] of writes) {
      const r = await post(url, path, body);
      assert.is(r.status, 429, `${label}: ${path} while the disk is full: ${JSON.stringify(r.body)}`);
      assert.ok(r.json && r.body.code === 8 && r.body.message === r.body.error, `${label}: ${path} error body ${JSON.stringify(r.body)}`);
      messages.push(r.body.message);
    }
  }
  if (fullScans) assert.ok(fullScans() - scansBefore! <= 1, `${label}: ${fullScans() - scansBefore!} index rebuilds for 15 refused writes`);
  for (const m of messages) assert.match(m, /database space exceeded/, `${label}: failed write message: ${m}`);
  console.log(`${label}: failed-write messages: ${[...new Set(messages)].join(' | ')}`);
  // Reads and watches keep working.
  const range = await post(url, '/v3/kv/range', { key: b64('/full/'), range_end: b64('/full0') });
  assert.is(range.status, 200);
  assert.is(range.body.header.revision, String(lastRev), `${label}: failed writes must not take a revision`);
  assert.is(range.body.count, '4', `${label}: the four acknowledged keys`);
  const second = await openWsWatch(url);
  second.send({ create_request: { key: b64('/full/'), range_end: b64('/full0'), start_revision: acks[0]!.rev } });
  const lastFull = acks.filter((a) => a.key.startsWith('/full/')).pop()!.rev;
  await second.waitFor((m) => (m.result?.events ?? []).some((e: any) => Number(e.kv.mod_revision) === lastFull), 5000);
  const from = watch.messages.length;
  watch.send({ progress_request: {} });
  const progress = await watch.waitFor((m) => m.result?.watch_id === '-1', 5000, from);
  assert.is(progress.result.header.revision, String(lastRev));
  await assertAcksIntact(url, acks, `${label} (disk full)`);

  await heal();
  let healed: { status: number; body: any } | undefined;
  for (let i = 0; i < 50 && healed?.status !== 200; i++) {
    healed = await put(url, '/full/after', 'ok');
    if (healed.status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  assert.is(healed?.status, 200, `${label}: writes work again once space returns: ${JSON.stringify(healed?.body)}`);
  const rev = Number(healed!.body.header.revision);
  assert.is(rev, lastRev + 1, `${label}: the first write after recovery takes the next revision`);
  acks.push({ key: '/full/after', value: 'ok', rev });
  // The live watch saw exactly the acknowledged writes, no phantom event from the failed ones.
  await watch.waitFor((m) => (m.result?.events ?? []).some((e: any) => Number(e.kv.mod_revision) === rev));
  const seen = watch.messages.flatMap((m) => (m.result?.events ?? []).map((e: any) => Number(e.kv.mod_revision)));
  assert.equal(seen, acks.filter((a) => a.key.startsWith('/full/')).map((a) => a.rev), `${label}: watch events == acknowledged writes`);
  await assertAcksIntact(url, acks, `${label} (healed)`);
  await Promise.all([watch.close(), second.close()]);
  return acks;
}

test('MemoryBackend.failWrites: writes fail clearly, reads and watches go on, recovery', async () => {
  const backend = new MemoryBackend();
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-full-'));
  const server = await startServer(watchkvConfig(dir), backend);
  try {
    await scenario(server, () => backend.failWrites(kvError('ERR_NO_SPACE', undefined, enospc())), () => backend.failWrites(null), 'memory');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LevelBackend with injected ENOSPC: same, and acknowledged data survives a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-full-'));
  const backend = new FailingLevelBackend(join(dir, 'db'));
  let server = await startServer(watchkvConfig(dir), backend);
  let acks: Acked[] = [];
  try {
    acks = await scenario(server, () => void (backend.failing = true), () => void (backend.failing = false), 'level', 64, () => backend.fullScans);
  } finally {
    await server.close();
  }
  server = await startServer(watchkvConfig(dir), new LevelBackend(join(dir, 'db')));
  try {
    await assertAcksIntact(server.address, acks, 'level after restart');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a real full tmpfs (2 MiB), then grown back (needs root + mount)', async () => {
  const mnt = mkdtempSync(join(tmpdir(), 'watchkv-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (err) {
    console.log(`note: tmpfs variant skipped, cannot mount here (${(err as Error).message.split('\n')[0]}); the injected-fault variants above still ran`);
    rmSync(mnt, { recursive: true, force: true });
    return;
  }
  const dir = join(mnt, 'data');
  try {
    const backend = new FailingLevelBackend(join(dir, 'db'));
    const server = await startServer(watchkvConfig(dir), backend);
    let acks: Acked[] = [];
    try {
      const fill = async () => {
        // Fill the disk with acknowledged 200 kB puts until one fails.
        const acked: Acked[] = [];
        for (let i = 0; i < 100; i++) {
          const value = `f${i}`.padEnd(200_000, 'z');
          const r = await put(server.address, `/full/fill${i % 3}`.replace('/full/', '/fill/'), value);
          if (r.status !== 200) return { first: r, acked };
          acked.push({ key: `/fill/fill${i % 3}`, value, rev: Number(r.body.header.revision) });
        }
        throw new Error('a 2 MiB tmpfs took 20 MB of writes: the disk never filled');
      };
      const grow = () => void execFileSync('mount', ['-o', 'remount,size=256m', mnt]);
      acks = await scenario(server, fill, grow, 'tmpfs', 20_000, () => backend.fullScans);
    } finally {
      await server.close();
    }
    const again = await startServer(watchkvConfig(dir), new LevelBackend(join(dir, 'db')));
    try {
      await assertAcksIntact(again.address, acks, 'tmpfs after restart');
    } finally {
      await again.close();
    }
  } finally {
    execFileSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});

test.run();
