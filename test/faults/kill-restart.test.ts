/**
 * kill -9 of the real server process under concurrent HTTP write load, then restart on the same
 * LevelDB dir. After each restart:
 *   1. every acknowledged write is present at its revision (range at that revision + history);
 *   2. no txn is half-applied: multi-key txns write one marker naming all their keys to each key,
 *      and every revision holding a marker holds it on exactly those keys (acknowledged or not);
 *   3. revisions are contiguous from the compaction point to the current revision;
 *   4. the current state equals the fold of the history;
 *   5. a watch resumed at (last seen + 1) continues with no gap and no duplicate: the live
 *      watcher's events + the resumed ones == the history.
 * Several cycles hit one dir; the last kills the server while a physical compaction runs.
 * Replay with TEST_SEED=<seed>.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, testSeed } from '../support/rng.ts';
import { b64, openWsWatch, post, type WatchSession } from '../support/http-client.ts';
import { readHistory, spawnServer, toHist, waitReady, type HistEvent, type ServerProcess } from './server-process.ts';

const SEED = testSeed();
const WRITERS = 6;

type Ack = { rev: number; kind: 'put'; key: string; value: string } | { rev: number; kind: 'txn'; keys: string[]; value: string } | { rev: number; kind: 'del'; key: string };

const acks: Ack[] = [];
let dir = '';
let compactedTo = 0;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'watchkv-kill-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function currentRev(url: string): Promise<number> {
  return Number((await post(url, '/v3/kv/range', { key: b64('/') })).body.header.revision);
}

/** One writer: random puts, 3-key marker txns and deletes until `stop()`; records acks only. */
async function writer(url: string, rng: Rng, id: string, stop: () => boolean): Promise<void> {
  for (let n = 0; !stop(); n++) {
    try {
      const c = rng.int(0, 9);
      if (c < 5) {
        const key = `/f/p/${id}/${rng.int(0, 15)}`;
        const value = `${id}-${n}`;
        const r = await post(url, '/v3/kv/put', { key: b64(key), value: b64(value) }, 5000);
        if (r.status === 200) acks.push({ rev: Number(r.body.header.revision), kind: 'put', key, value });
      } else if (c < 8) {
        const keys = [...new Set([0, 1, 2].map(() => `/f/t/${rng.int(0, 15)}`))].sort();
        const value = `m:${id}-${n}:${keys.join(',')}`;
        const success = keys.map((k) => ({ request_put: { key: b64(k), value: b64(value) } }));
        const r = await post(url, '/v3/kv/txn', { compare: [], success }, 5000);
        if (r.status === 200) acks.push({ rev: Number(r.body.header.revision), kind: 'txn', keys, value });
      } else {
        const key = `/f/p/${id}/${rng.int(0, 15)}`;
        const r = await post(url, '/v3/kv/deleterange', { key: b64(key) }, 5000);
        if (r.status === 200 && Number(r.body.deleted ?? 0) > 0) acks.push({ rev: Number(r.body.header.revision), kind: 'del', key });
      }
    } catch {
      return; // the server is gone: nothing after this point was acknowledged
    }
  }
}

/** Checks 1-4 against the restarted server; returns the history it read. */
async function verify(s: ServerProcess, label: string): Promise<{ hist: HistEvent[]; rev: number }> {
  const rev = await currentRev(s.url);
  const from = compactedTo + 1;
  const hist = await readHistory(s.url, from, rev);
  const byRev = new Map<number, HistEvent[]>();
  for (const e of hist) byRev.set(e.rev, [...(byRev.get(e.rev) ?? []), e]);
  // 3. contiguous revisions (every write creates at least one event)
  for (let r = Math.max(2, from); r <= rev; r++) assert.ok(byRev.has(r), `${label}: revision ${r} missing from history (${from}..${rev}) seed ${SEED}`);
  // 1. acknowledged writes
  for (const a of acks) {
    assert.ok(a.rev <= rev, `${label}: acknowledged revision ${a.rev} > current ${rev} seed ${SEED}`);
    if (a.rev <= compactedTo) continue;
    const evs = byRev.get(a.rev) ?? [];
    if (a.kind === 'put') assert.ok(evs.some((e) => e.type === 'PUT' && e.key === a.key && e.value === a.value), `${label}: acked put ${a.key}@${a.rev} lost, seed ${SEED}`);
    else if (a.kind === 'del') assert.ok(evs.some((e) => e.type === 'DELETE' && e.key === a.key), `${label}: acked delete ${a.key}@${a.rev} lost, seed ${SEED}`);
    else assert.equal(evs.filter((e) => e.value === a.value).map((e) => e.key).sort(), a.keys, `${label}: acked txn @${a.rev} not whole, seed ${SEED}`);
  }
  const sample = acks.filter((a) => a.kind === 'put' && a.rev > compactedTo).slice(-200) as Extract<Ack, { kind: 'put' }>[];
  await Promise.all(
    sample.map(async (a) => {
      const r = await post(s.url, '/v3/kv/range', { key: b64(a.key), revision: a.rev });
      assert.is(r.status, 200, `${label}: range ${a.key}@${a.rev}: ${JSON.stringify(r.body)}`);
      assert.is(r.body.kvs?.[0]?.mod_revision, String(a.rev), `${label}: ${a.key}@${a.rev} mod_revision`);
      assert.is(Buffer.from(r.body.kvs[0].value, 'base64').toString(), a.value);
    }),
  );
  // 2. no half-applied txn, acknowledged or not
  for (const [r, evs] of byRev) {
    for (const e of evs) {
      if (!e.value.startsWith('m:')) continue;
      const keys = e.value.split(':')[2]!.split(',');
      assert.equal(evs.filter((x) => x.value === e.value).map((x) => x.key).sort(), keys, `${label}: txn at ${r} half-applied, seed ${SEED}`);
    }
  }
  // 4. the state is the fold of the history (only checkable when the history is complete)
  if (compactedTo === 0) {
    const model = new Map<string, string>();
    for (const e of hist) e.type === 'PUT' ? model.set(e.key, e.value) : model.delete(e.key);
    const all = await post(s.url, '/v3/kv/range', { key: b64('/f/'), range_end: b64('/f0') });
    const state = new Map<string, string>((all.body.kvs ?? []).map((kv: any) => [Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value ?? '', 'base64').toString()]));
    assert.equal([...state].sort(), [...model].filter(([k]) => k.startsWith('/f/')).sort(), `${label}: state != fold(history), seed ${SEED}`);
  }
  return { hist, rev };
}

async function watchAll(url: string, startRev: number): Promise<WatchSession> {
  const ws = await openWsWatch(url);
  ws.send({ create_request: { key: b64('/f/'), range_end: b64('/f0'), start_revision: startRev } });
  await ws.waitFor((m) => m.result?.created, 5000);
  return ws;
}

test('kill -9 under write load: acknowledged writes, txn atomicity, contiguity, watch resume', async () => {
  const rng = new Rng(SEED);
  let s = await spawnServer(dir);
  await waitReady(s);
  for (let cycle = 0; cycle < 3; cycle++) {
    const startRev = await currentRev(s.url);
    const live = await watchAll(s.url, startRev + 1);
    let stopped = false;
    const load = Array.from({ length: WRITERS }, (_, w) => writer(s.url, new Rng(rng.int(0, 2 ** 30)), `c${cycle}w${w}`, () => stopped));
    await new Promise((r) => setTimeout(r, rng.int(400, 1500)));
    await s.kill9();
    stopped = true;
    await Promise.all(load);
    await live.close();
    s = await spawnServer(dir);
    await waitReady(s);
    const { hist, rev } = await verify(s, `cycle ${cycle}`);
    // 5. resume the live watcher at last seen + 1
    const seen = live.messages.flatMap((m) => (m.result?.events ?? []).map(toHist));
    const last = seen.length ? seen[seen.length - 1]!.rev : startRev;
    const resumed = rev > last ? (await readHistory(s.url, last + 1, rev)).filter((e) => e.key.startsWith('/f/')) : [];
    const expected = hist.filter((e) => e.rev > startRev && e.key.startsWith('/f/'));
    assert.equal([...seen, ...resumed], expected, `cycle ${cycle}: live watch + resumed watch != history (seed ${SEED})`);
    assert.ok(acks.some((a) => a.rev > startRev), `cycle ${cycle}: the load acknowledged nothing`);
    console.log(`cycle ${cycle}: ${acks.filter((a) => a.rev > startRev).length} acks, revisions ${startRev}..${rev}, live watch saw ${seen.length} events, resumed ${resumed.length}`);
  }
  await s.stop();
});

test('kill -9 during a physical compaction', async () => {
  const rng = new Rng(SEED + 1);
  let s = await spawnServer(dir);
  await waitReady(s);
  // Pile up history: many revisions for the compaction to delete.
  let stopped = false;
  const load = Array.from({ length: WRITERS }, (_, w) => writer(s.url, new Rng(rng.int(0, 2 ** 30)), `pc${w}`, () => stopped));
  await new Promise((r) => setTimeout(r, 2000));
  stopped = true;
  await Promise.all(load);
  const rev = await currentRev(s.url);
  const target = rev - 5;
  const compaction = post(s.url, '/v3/kv/compaction', { revision: target, physical: true }, 10_000).catch((e: Error) => e);
  await new Promise((r) => setTimeout(r, rng.int(5, 120)));
  await s.kill9();
  const answer = await compaction;
  s = await spawnServer(dir);
  await waitReady(s);
  const old = await post(s.url, '/v3/kv/range', { key: b64('/f/'), range_end: b64('/f0'), revision: target - 1 });
  console.log(`compaction to ${target} of ${rev} revisions: ${answer instanceof Error ? 'killed before its answer' : `answered ${answer.status}`}; after restart an old read answers ${old.status}`);
  const acknowledged = !(answer instanceof Error) && answer.status === 200;
  if (acknowledged) assert.is(old.status, 400, 'an acknowledged compaction survives the kill');
  if (old.status === 400) {
    assert.is(old.body.code, 11);
    compactedTo = target;
  } else {
    // Not durable yet: the compaction must be redoable, and then hold.
    const again = await post(s.url, '/v3/kv/compaction', { revision: target, physical: true });
    assert.is(again.status, 200, JSON.stringify(again.body));
    compactedTo = target;
  }
  const again = await post(s.url, '/v3/kv/compaction', { revision: target });
  assert.is(again.status, 400, 'compacting to the same revision again is refused');
  await verify(s, 'after compaction kill');
  // Writes go on after the interrupted compaction.
  const r = await post(s.url, '/v3/kv/put', { key: b64('/f/after'), value: b64('x') });
  assert.is(r.status, 200);
  assert.is(Number(r.body.header.revision), (await currentRev(s.url)));
  await s.stop();
});

test.run();
