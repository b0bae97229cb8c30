/**
 * Auto-compaction through a real server and its HTTP API, with retentions short enough for a
 * test. Timers only ever fire late, never early, so the assertions are the safe-direction ones:
 * periodic mode never compacts a revision that was current less than `retention` ago, and it
 * does compact; revision mode keeps exactly the last N revisions once writes stop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, type RunningServer } from '../../src/server.ts';
import { loadConfig } from '../../src/cli-options.ts';
import type { ServerConfig } from '../../src/config.ts';
import { watchkvConfig } from '../support/etcd-pair.ts';
import { b64, openWsWatch, post } from '../support/http-client.ts';

async function withServer(flags: string[], overrides: Partial<ServerConfig>, body: (s: RunningServer) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-autocompact-'));
  const server = await startServer({ ...watchkvConfig(dir, flags), ...overrides });
  try {
    await body(server);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The server's compaction revision as a client sees it: a watch from revision 1 is canceled with
 * it, or (nothing compacted) gets revision 2's events. Every test writes revision 2.
 */
async function compactRevision(url: string): Promise<number> {
  const ws = await openWsWatch(url);
  try {
    ws.send({ create_request: { key: b64('\0'), range_end: b64('\0'), start_revision: 1 } });
    const m = await ws.waitFor((x) => x.result?.canceled || x.result?.events?.length > 0, 5000);
    return Number(m.result.compact_revision ?? 0);
  } finally {
    await ws.close();
  }
}

async function put(url: string, key: string): Promise<number> {
  const r = await post(url, '/v3/kv/put', { key: b64(key), value: b64('v') });
  assert.is(r.status, 200);
  return Number(r.body.header.revision);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('flags: modes, etcd retention rules (bare number = hours / revisions), off by default', () => {
  const d = loadConfig([], {}) as ServerConfig;
  assert.is(d.autoCompactionRetention, 0);
  assert.is(d.autoCompactionMode, 'periodic');
  const cfg = (...argv: string[]) => loadConfig(argv, {}) as ServerConfig;
  assert.is(cfg('--auto-compaction-retention', '2').autoCompactionRetention, 2 * 3_600_000);
  assert.is(cfg('--auto-compaction-retention', '30m').autoCompactionRetention, 30 * 60_000);
  assert.is(cfg('--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1000').autoCompactionRetention, 1000);
  assert.throws(() => cfg('--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1h'), /revisions/);
  assert.throws(() => cfg('--auto-compaction-mode', 'hourly'), /periodic, revision/);
  assert.throws(() => cfg('--auto-compaction-retention', 'soon'), /duration/);
});

test('periodic: compacts at a revision seen at least `retention` ago, again and again', async () => {
  const retentionMs = 1000;
  await withServer(['--auto-compaction-retention', `${retentionMs}ms`], {}, async (s) => {
    // Writes with the time each revision became current, until two compactions were seen.
    const written: Array<{ rev: number; at: number }> = [];
    const seen: number[] = [];
    const deadline = Date.now() + 30_000;
    while (seen.length < 2 && Date.now() < deadline) {
      written.push({ rev: await put(s.address, `/p/${written.length % 10}`), at: Date.now() });
      await sleep(20);
      const c = await compactRevision(s.address);
      const observedAt = Date.now();
      if (c > 0 && c !== seen[seen.length - 1]) {
        seen.push(c);
        // Safety: every revision that was already superseded less than retention ago is kept.
        const keptFrom = written.find((w) => w.at > observedAt - retentionMs);
        if (keptFrom) assert.ok(c < keptFrom.rev, `compacted at ${c}, but ${keptFrom.rev} was written ${observedAt - keptFrom.at} ms ago`);
        // The compacted revision is readable no more, the one at it still is.
        const below = await post(s.address, '/v3/kv/range', { key: b64('/p/'), range_end: b64('/p0'), revision: c - 1 });
        if (c > 1) assert.is(below.status, 400);
        const at = await post(s.address, '/v3/kv/range', { key: b64('/p/'), range_end: b64('/p0'), revision: c });
        assert.is(at.status, 200);
      }
    }
    assert.is(seen.length, 2, `two periodic compactions within the deadline, saw ${seen}`);
    assert.ok(seen[1]! > seen[0]!, 'the window moves on');
  });
});

test('revision: keeps the last N revisions', async () => {
  await withServer(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '5'], { autoCompactionRevisionIntervalMs: 50 }, async (s) => {
    let last = 0;
    for (let i = 0; i < 20; i++) last = await put(s.address, `/r/${i}`);
    const deadline = Date.now() + 20_000;
    let c = 0;
    while (c !== last - 5 && Date.now() < deadline) {
      await sleep(50);
      c = await compactRevision(s.address);
    }
    assert.is(c, last - 5, 'compacted at current - retention');
    const kept = await post(s.address, '/v3/kv/range', { key: b64('/r/'), range_end: b64('/r0'), revision: last - 5 });
    assert.is(kept.status, 200);
    assert.is(kept.body.count, String(20 - 5));
    const gone = await post(s.address, '/v3/kv/range', { key: b64('/r/'), range_end: b64('/r0'), revision: last - 6 });
    assert.is(gone.status, 400);
    assert.match(gone.body.message, /compacted/);
    // No new writes: the same revision is not compacted again (ERR_COMPACTED would be logged as a success anyway).
    await sleep(200);
    assert.is(await compactRevision(s.address), last - 5);
  });
});

test('off by default: history stays', async () => {
  await withServer([], { autoCompactionRevisionIntervalMs: 10 }, async (s) => {
    for (let i = 0; i < 5; i++) await put(s.address, '/o');
    await sleep(300);
    assert.is(await compactRevision(s.address), 0);
    const r = await post(s.address, '/v3/kv/range', { key: b64('/o'), revision: 2 });
    assert.is(r.status, 200);
  });
});

test.run();
