/**
 * etcdctl's tools built on Go's clientv3 (the code Kubernetes and most Go services use), run
 * against watchkv as a user would: `lock` (concurrency.Mutex: a txn on create revisions, a lease
 * kept alive, a watch for the previous holder's delete), `elect` (concurrency.Election: campaign,
 * resign on exit, `--listen` observing leaders), and `make-mirror` in both directions between
 * watchkv and a real etcd 3.4 (a paged Get at one revision, then a watch from the next), and
 * `check datascale` (10,000 puts from 50 clients, memory read from /metrics, then compaction and
 * defragmentation through the Maintenance API).
 * Waits are for what the processes print or what the other server holds, never fixed sleeps.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pairForSuite, type Target } from '../../support/etcd-pair.ts';
import { ctl, spawnCtl } from '../../support/etcdctl.ts';

const pair = pairForSuite(test);

/** A long-running etcdctl whose stdout (and stderr) lines are collected as they come. */
function run(t: Target, args: string[]): { proc: ChildProcess; lines: string[]; until(pred: (lines: string[]) => boolean, what: string, ms?: number): Promise<void> } {
  const proc = spawnCtl(t, args);
  const lines: string[] = [];
  let tail = '';
  const onData = (d: Buffer) => {
    tail += d.toString();
    const parts = tail.split('\n');
    tail = parts.pop()!;
    lines.push(...parts.filter((l) => l.length > 0 && !l.startsWith('{"level"')));
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const until = async (pred: (l: string[]) => boolean, what: string, ms = 15_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!pred(lines)) {
      if (Date.now() > end) throw new Error(`etcdctl ${args.join(' ')}: ${what} not seen within ${ms} ms; printed ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { proc, lines, until };
}

const exited = (p: ChildProcess): Promise<number | null> => (p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code))));

async function pollUntil(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('etcdctl lock: the second holder runs only after the first has released', async () => {
  const wk = pair.wk;
  // Holder 1 keeps the lock until the test creates a file (etcdctl gives its command no stdin).
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-lock-'));
  const go = join(dir, 'go');
  const first = run(wk, ['lock', 'tools/lock', '--', 'sh', '-c', `echo first-in; while [ ! -e ${go} ]; do sleep 0.02; done; echo first-out`]);
  await first.until((l) => l.includes('first-in'), 'first holder in');
  const second = run(wk, ['lock', 'tools/lock', '--', 'sh', '-c', 'echo second-in']);
  // The second is waiting on the first's key: one key per waiter, each on a lease.
  await pollUntil(async () => (await ctl(wk, ['get', '--prefix', 'tools/lock', '--keys-only'])).stdout.trim().split('\n').filter(Boolean).length === 2, 'two lock keys');
  assert.equal(second.lines, [], 'the second holder must not be in yet');
  writeFileSync(go, '');
  await second.until((l) => l.includes('second-in'), 'second holder in');
  assert.equal(first.lines, ['first-in', 'first-out']);
  assert.is(await exited(first.proc), 0);
  assert.is(await exited(second.proc), 0);
  // Both released: their keys went with their leases' revocation.
  await pollUntil(async () => (await ctl(wk, ['get', '--prefix', 'tools/lock', '--keys-only'])).stdout.trim() === '', 'lock keys gone');
  rmSync(dir, { recursive: true, force: true });
});

test('etcdctl elect: the observer sees the first candidate lead, then the second once the first quits', async () => {
  const wk = pair.wk;
  const observer = run(wk, ['elect', 'tools/elect', '--listen']);
  const a = run(wk, ['elect', 'tools/elect', 'node-a']);
  await a.until((l) => l.includes('node-a'), 'node-a elected');
  const b = run(wk, ['elect', 'tools/elect', 'node-b']);
  await observer.until((l) => l.includes('node-a'), 'the observer seeing node-a');
  // b campaigns behind a: its key exists, but it does not lead.
  await pollUntil(async () => (await ctl(wk, ['get', '--prefix', 'tools/elect', '--keys-only'])).stdout.trim().split('\n').filter(Boolean).length === 2, 'two candidates');
  assert.not.ok(b.lines.includes('node-b'), 'node-b must wait');
  a.proc.kill('SIGINT'); // etcdctl resigns on an interrupt
  await b.until((l) => l.includes('node-b'), 'node-b elected');
  await observer.until((l) => l.includes('node-b'), 'the observer seeing node-b');
  assert.equal(observer.lines.filter((l) => l === 'node-a' || l === 'node-b'), ['node-a', 'node-b']);
  for (const p of [b.proc, observer.proc]) p.kill('SIGINT');
  await Promise.all([a.proc, b.proc, observer.proc].map(exited));
});

async function mirrored(from: Target, to: Target, prefix: string): Promise<void> {
  for (let i = 1; i <= 3; i++) assert.is((await ctl(from, ['put', `${prefix}k${i}`, `v${i}`])).code, 0);
  const mirror = run(from, ['make-mirror', '--prefix', prefix, to.url]);
  const dest = async () => (await ctl(to, ['get', '--prefix', prefix])).stdout.trim().split('\n');
  await pollUntil(async () => (await dest()).length === 6, `${prefix}: the first three keys on the destination`);
  // Live changes after the copy arrive through the mirror's watch.
  await ctl(from, ['put', `${prefix}k4`, 'v4']);
  await ctl(from, ['del', `${prefix}k1`]);
  await pollUntil(async () => (await dest()).join(',') === `${prefix}k2,v2,${prefix}k3,v3,${prefix}k4,v4`, `${prefix}: live put and delete mirrored`);
  mirror.proc.kill('SIGINT');
  await exited(mirror.proc);
}

test('etcdctl make-mirror: watchkv to etcd and etcd to watchkv, the copy and then live changes', async () => {
  await mirrored(pair.wk, pair.etcd, 'tools/to-etcd/');
  await mirrored(pair.etcd, pair.wk, 'tools/from-etcd/');
});

test('etcdctl check datascale: 10,000 puts from 50 clients, then auto-compact and auto-defrag; the same verdict as etcd', async () => {
  const args = ['check', 'datascale', '--load=s', '--auto-compact', '--auto-defrag'];
  const [e, w] = await Promise.all([pair.etcd, pair.wk].map((t) => ctl(t, args)));
  const verdict = (out: string): string[] => out.split(/[\r\n]+/).filter((l) => /^(PASS|FAIL|Compact|Defrag|Start)/.test(l)).map((l) => l.replace(/revision \d+/, 'revision N').replace(/"[^"]+"/, 'ENDPOINT').replace(/: [0-9.]+ MB\./, ': M MB.'));
  assert.is(w!.code, 0, w!.stderr);
  assert.equal(verdict(w!.stdout + w!.stderr), verdict(e!.stdout + e!.stderr));
  assert.ok(verdict(w!.stdout).some((l) => l.startsWith('PASS: Approximate system memory used')), w!.stdout);
});

test.run();
