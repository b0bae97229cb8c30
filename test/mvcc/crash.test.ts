/**
 * Crash safety on LevelDB: a child process (test/support/crash-writer.ts) writes with many
 * concurrent writers and prints every acknowledged write; we SIGKILL it at a random moment,
 * reopen the same directory here and check that
 *   1. every acknowledged write is there, at its revision, with its value;
 *   2. revisions are contiguous from the compaction point to the current revision;
 *   3. no txn is half-applied (acknowledged or not);
 *   4. an acknowledged compaction survived, and one interrupted mid-deletion finishes on reopen.
 * Several kills hit the same directory; the last one lands inside a physical compaction.
 * Replay a failure with TEST_SEED=<seed>.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LevelBackend } from '../../src/backend/level-backend.ts';
import { decodeMetaRevision } from '../../src/mvcc/compaction.ts';
import { META_FINISHED_COMPACT, META_SCHEDULED_COMPACT, recordKey } from '../../src/mvcc/kv-codec.ts';
import type { Event } from '../../src/mvcc/kv.ts';
import { openKvStore } from '../../src/mvcc/kv-store.ts';
import { Rng, testSeed } from '../support/rng.ts';

type Op = { t: 'put'; k: string; v: string } | { t: 'del'; k: string; n: number };
interface Ack {
  rev: number;
  ops: Op[];
}
interface CycleLog {
  acks: Ack[];
  compact: number;
  delBatches: number;
  readyRev: number;
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const writerScript = join(root, 'test/support/crash-writer.ts');
const KEYS_IN_WRITER = 120;

/** Runs the writer until `shouldKill` says so, then SIGKILLs it; returns everything it acknowledged. */
function runAndKill(dir: string, seed: number, mode: 'normal' | 'physical', shouldKill: (log: CycleLog) => boolean): Promise<CycleLog> {
  const log: CycleLog = { acks: [], compact: 0, delBatches: 0, readyRev: -1 };
  const child = spawn(process.execPath, ['--import', 'tsx', writerScript, dir, String(seed), mode], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let killed = false;
  const kill = () => {
    if (!killed) child.kill('SIGKILL');
    killed = true;
  };
  const guard = setTimeout(kill, 20_000);
  // Lines that arrive after the kill decision are still acknowledged writes: keep reading to EOF.
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as { ready?: boolean; rev?: number; ops?: Op[]; compact?: number; delBatch?: number };
    if (msg.ready) log.readyRev = msg.rev!;
    else if (msg.ops) log.acks.push({ rev: msg.rev!, ops: msg.ops });
    else if (msg.compact !== undefined) log.compact = Math.max(log.compact, msg.compact);
    else if (msg.delBatch !== undefined) log.delBatches = msg.delBatch;
    if (shouldKill(log)) kill();
  });
  return new Promise((resolve, reject) =>
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (signal === 'SIGKILL' && killed && log.readyRev >= 0) resolve(log);
      else reject(new Error(`crash writer ended by itself (code ${code}, signal ${signal}) or never got ready`));
    }),
  );
}

const eventText = (ev: Event) => `${ev.type} ${ev.kv.key.toString()}${ev.type === 'PUT' ? `=${ev.kv.value.toString()}` : ''}`;
const opText = (op: Op) => (op.t === 'put' ? `PUT ${op.k}=${op.v}` : `DELETE ${op.k}`);
/** "tx<tag>/<n>#<i>" → ["tx<tag>/<n>", n]; single puts ("p<tag>") are their own group of 1. */
function txnGroup(value: string): [string, number] {
  const m = /^(tx[^/]+\/(\d+))#\d+$/.exec(value);
  return m ? [m[1]!, Number(m[2])] : [value, 1];
}

/** Reopens the directory and checks everything acknowledged so far. Returns the revision found. */
async function verify(dir: string, acks: readonly Ack[], ackedCompact: number, label: string, waitForPhysical: boolean): Promise<number> {
  const backend = new LevelBackend(dir);
  const store = await openKvStore(backend);
  try {
    const current = store.currentRevision();
    const compacted = store.compactRevision();
    assert.ok(compacted >= ackedCompact, `${label}: compaction at ${ackedCompact} was acknowledged, store says ${compacted}`);
    for (const ack of acks) assert.ok(ack.rev <= current, `${label}: acknowledged revision ${ack.rev} > current ${current}`);

    // 2. Contiguous revisions: every revision after the compaction point has its changes.
    const from = Math.max(compacted, 1) + 1;
    const history = await store.history(from, current);
    assert.equal(
      history.map((h) => h.revision),
      Array.from({ length: current - from + 1 }, (_, i) => from + i),
      `${label}: revisions ${from}..${current} contiguous`,
    );
    const byRev = new Map(history.map((h) => [h.revision, h.events]));

    // 3. Atomicity: each revision holds exactly one write, and a txn's puts are all there.
    for (const { revision, events } of history) {
      const groups = new Map<string, { want: number; got: number }>();
      for (const ev of events) {
        if (ev.type !== 'PUT') continue;
        const [group, want] = txnGroup(ev.kv.value.toString());
        const g = groups.get(group) ?? { want, got: 0 };
        g.got++;
        groups.set(group, g);
      }
      assert.ok(groups.size <= 1, `${label}: revision ${revision} mixes writes ${[...groups.keys()].join(', ')}`);
      for (const [group, g] of groups) assert.is(g.got, g.want, `${label}: txn ${group} half-applied at ${revision}`);
    }

    // 1. Every acknowledged write above the compaction point, exactly, at its revision.
    for (const ack of acks) {
      if (ack.rev < from) continue;
      assert.equal(byRev.get(ack.rev)?.map(eventText), ack.ops.map(opText), `${label}: acknowledged write at ${ack.rev}`);
    }
    const readable = acks.filter((a) => a.rev >= Math.max(compacted, 2));
    for (const ack of readable.slice(-150)) {
      for (const op of ack.ops) {
        const res = await store.range({ key: Buffer.from(op.k), revision: ack.rev });
        if (op.t === 'del') assert.is(res.kvs.length, 0, `${label}: ${op.k} deleted at ${ack.rev}`);
        else {
          assert.is(res.kvs[0]?.value.toString(), op.v, `${label}: ${op.k} at ${ack.rev}`);
          assert.is(res.kvs[0]?.modRevision, ack.rev);
        }
      }
    }

    // The current state is the last change of each key.
    const last = new Map<string, string>();
    for (const { events } of history) for (const ev of events) last.set(ev.kv.key.toString(), ev.type === 'PUT' ? ev.kv.value.toString() : '');
    const now = await store.range({ key: Buffer.from('k'), rangeEnd: Buffer.from('l') });
    const state = new Map(now.kvs.map((kv) => [kv.key.toString(), kv.value.toString()]));
    for (const [k, v] of last) assert.is(state.get(k) ?? '', v, `${label}: current value of ${k}`);

    // 4. An interrupted physical compaction resumes on open and finishes.
    if (waitForPhysical) {
      const deadline = Date.now() + 15_000;
      while (decodeMetaRevision(await backend.get(META_FINISHED_COMPACT)) < decodeMetaRevision(await backend.get(META_SCHEDULED_COMPACT))) {
        assert.ok(Date.now() < deadline, `${label}: resumed physical compaction did not finish`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const below = await backend.scan({ gte: recordKey(0, 0), lt: recordKey(compacted + 1, 0), limit: 10_000 });
      assert.ok(below.length <= KEYS_IN_WRITER, `${label}: ${below.length} records left at or below ${compacted}, at most one per key expected`);
    }
    return current;
  } finally {
    await store.close();
  }
}

test('acknowledged writes survive SIGKILL, revisions stay contiguous, txns stay whole', async () => {
  const seed = testSeed();
  const rng = new Rng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-crash-'));
  const acks: Ack[] = [];
  let ackedCompact = 0;
  let lastRev = 1;
  try {
    const cycles: Array<'normal' | 'physical'> = ['normal', 'normal', 'normal', 'normal', 'physical'];
    for (const [i, mode] of cycles.entries()) {
      const label = `seed ${seed} cycle ${i} (${mode})`;
      const killAfterAcks = rng.int(30, 1200);
      const killAfterBatches = rng.int(2, 6);
      const log = await runAndKill(dir, seed * 10 + i, mode, (l) =>
        mode === 'normal' ? l.acks.length >= killAfterAcks : l.compact > 0 && l.delBatches >= killAfterBatches,
      );
      assert.is(log.readyRev, lastRev, `${label}: the writer reopened at the verified revision`);
      acks.push(...log.acks);
      ackedCompact = Math.max(ackedCompact, log.compact);
      if (mode === 'physical') {
        // Read the compaction marks raw, before the store resumes the deletion.
        const raw = new LevelBackend(dir);
        await raw.open();
        const scheduled = decodeMetaRevision(await raw.get(META_SCHEDULED_COMPACT));
        const finished = decodeMetaRevision(await raw.get(META_FINISHED_COMPACT));
        await raw.close();
        assert.ok(scheduled >= log.compact && finished < scheduled, `${label}: killed during physical compaction (${finished} < ${scheduled})`);
      }
      lastRev = await verify(dir, acks, ackedCompact, label, mode === 'physical');
      if (process.env.CRASH_VERBOSE) console.log(label, { acks: log.acks.length, compact: log.compact, delBatches: log.delBatches, ready: log.readyRev, rev: lastRev });
    }
    assert.ok(acks.length > 100, 'the writers got work acknowledged');
  } catch (err) {
    console.error(`crash test failed: replay with TEST_SEED=${seed}`);
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
