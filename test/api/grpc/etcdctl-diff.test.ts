/**
 * Differential test with the real etcdctl 3.4 (/usr/bin/etcdctl): one script of commands runs
 * against a real etcd 3.4 and against watchkv, and every command's exit code, stdout and stderr
 * must match once ids, sizes and timings are masked (normalizeCtl). Both servers start empty, so
 * revisions line up exactly and are compared as they are.
 * Endpoints are http://host:port URLs (see test/support/etcdctl.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startEtcdTarget, startWatchkvTarget, type Target } from '../../support/etcd-pair.ts';
import { ctl, normalizeCtl, spawnCtl, type CtlResult } from '../../support/etcdctl.ts';
import { sleep } from '../../support/watch-harness.ts';

let etcd: Target;
let wk: Target;

test.before(async () => {
  [etcd, wk] = await Promise.all([startEtcdTarget(), startWatchkvTarget()]);
});
test.after(async () => {
  await Promise.all([etcd?.stop(), wk?.stop()]);
});

/** Per-target values (lease ids) that are masked like ids before comparing. */
const leaseIds = new Map<Target, string[]>();

function mask(s: string, t: Target): string {
  let out = s;
  for (const id of leaseIds.get(t) ?? []) out = out.split(id).join('LEASE').split(String(BigInt('0x' + id))).join('LEASE');
  // etcd lists a lease's keys in Go map order (random from run to run): compare them sorted.
  out = out.replace(/attached keys\(\[([^\]]*)\]\)/g, (_m, keys: string) => `attached keys([${keys.split(' ').sort().join(' ')}])`);
  return normalizeCtl(out.replace(/remaining\(\d+s\)/g, 'remaining(Ns)').replace(/"TTL":\d+/g, '"TTL":N'), t);
}

/** Runs one command on each server (args may depend on the server) and compares the outputs. */
async function same(args: string[] | ((t: Target) => string[]), stdin = ''): Promise<CtlResult> {
  const argsOf = typeof args === 'function' ? args : () => args;
  const e = await ctl(etcd, argsOf(etcd), stdin);
  const w = await ctl(wk, argsOf(wk), stdin);
  const ne = { code: e.code, stdout: mask(e.stdout, etcd), stderr: mask(e.stderr, etcd) };
  const nw = { code: w.code, stdout: mask(w.stdout, wk), stderr: mask(w.stderr, wk) };
  assert.equal(nw, ne, `etcdctl ${argsOf(etcd).join(' ')}`);
  return e;
}

/** `lease grant` on both; remembers each server's id so later commands and outputs use it. */
async function grant(ttl: number): Promise<(t: Target) => string> {
  const ids = new Map<Target, string>();
  for (const t of [etcd, wk]) {
    const r = await ctl(t, ['lease', 'grant', String(ttl)]);
    const id = /lease ([0-9a-f]+) granted/.exec(r.stdout)?.[1];
    assert.ok(id, `lease grant on ${t.url}: ${r.stdout}${r.stderr}`);
    ids.set(t, id);
    leaseIds.set(t, [...(leaseIds.get(t) ?? []), id]);
  }
  return (t) => ids.get(t)!;
}

/** Runs a watch on both, performs `then` on both, and compares what each watch printed. */
async function sameWatch(args: string[], then: (t: Target) => Promise<void> = async () => {}, expectLines = 1): Promise<string> {
  const outs: string[] = [];
  for (const t of [etcd, wk]) {
    const p = spawnCtl(t, ['watch', ...args]);
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (out += d));
    const exited = new Promise((r) => p.on('close', r));
    await sleep(400); // the watch is created (etcdctl prints nothing until the first event)
    await then(t);
    for (let i = 0; i < 100 && out.split('\n').filter(Boolean).length < expectLines; i++) await sleep(50);
    await sleep(150);
    p.kill('SIGTERM');
    await exited;
    outs.push(normalizeCtl(out, t));
  }
  assert.is(outs[1], outs[0], `etcdctl watch ${args.join(' ')}`);
  return outs[0]!;
}

test('put / get: prefix, revisions, limit, sort, keys-only, from-key, json', async () => {
  await same(['put', 'foo', 'bar']);
  await same(['put', 'foo2', 'baz']);
  await same(['put', 'foo3', 'qux']);
  await same(['put', 'other', 'x']);
  await same(['put', 'foo', 'bar2', '--prev-kv']);
  await same(['get', 'foo']);
  await same(['get', 'foo', '--prefix']);
  await same(['get', 'foo', '--prefix', '--limit=2']);
  await same(['get', 'foo', '--prefix', '--sort-by=MODIFY', '--order=DESCEND']);
  await same(['get', 'foo', '--prefix', '--keys-only']);
  await same(['get', 'foo', '--prefix', '--print-value-only']);
  await same(['get', 'foo', '--prefix', '--count-only', '-w', 'json']);
  await same(['get', 'foo', '--prefix', '-w', 'json']);
  await same(['get', 'foo', '--rev=2', '-w', 'json']);
  await same(['get', '--from-key', 'foo2']);
  await same(['get', 'missing', '-w', 'json']);
  await same(['get', 'foo', '--rev=99']);
  await same(['put', '', 'x']);
  await same(['put', 'foo', '--ignore-value']);
  await same(['put', 'nokey', '--ignore-value']);
});

test('txn from stdin, both branches, json', async () => {
  await same(['txn'], 'value("foo") = "bar2"\n\nput foo bar3\nget foo\n\nput foo nope\n\n');
  await same(['txn', '-w', 'json'], 'value("foo") = "zzz"\n\nput foo yes\n\nget foo\ndel other\n\n');
  await same(['txn'], 'mod("foo2") > "0"\nversion("foo3") = "1"\n\nget foo --prefix\n\n\n');
  await same(['txn'], 'bogus compare\n\n\n\n');
});

test('del: single, prefix with prev-kv, missing', async () => {
  await same(['del', 'foo3']);
  await same(['del', 'missing']);
  await same(['put', 'd/1', 'a']);
  await same(['put', 'd/2', 'b']);
  await same(['del', 'd/', '--prefix', '--prev-kv']);
  await same(['del', 'foo', '--from-key', '-w', 'json']);
});

test('watch: live, prefix, prev-kv, from a revision', async () => {
  const rev = Number(JSON.parse((await ctl(etcd, ['get', 'x', '-w', 'json'])).stdout).header.revision);
  await sameWatch(['live', '--prefix', '--prev-kv'], async (t) => {
    await ctl(t, ['put', 'live/1', 'a']);
    await ctl(t, ['put', 'live/1', 'b']);
    await ctl(t, ['del', 'live/1']);
  }, 9);
  await sameWatch(['--rev', String(rev + 1), 'live', '--prefix'], undefined, 9);
  await sameWatch(['--rev', '2', 'foo'], undefined, 3);
  await sameWatch(['-w', 'json', '--rev', String(rev + 1), 'live/1'], undefined, 3);
});

test('compaction, then reads and watches below it fail as etcd', async () => {
  const rev = Number(JSON.parse((await ctl(etcd, ['get', 'x', '-w', 'json'])).stdout).header.revision);
  await same(['compact', String(rev - 2)]);
  await same(['compact', String(rev - 3)]);
  await same(['compact', String(rev + 100)]);
  await same(['get', 'foo', `--rev=${rev - 5}`]);
  const out = await sameWatch(['--rev', '2', 'foo']);
  assert.match(out, /compacted/);
});

test('leases: grant, put --lease, timetolive, keep-alive, list, revoke, expiry', async () => {
  const l = await grant(60);
  await same((t) => ['put', 'leased/a', '1', `--lease=${l(t)}`]);
  await same((t) => ['put', 'leased/b', '2', `--lease=${l(t)}`]);
  await same(['get', 'leased/', '--prefix', '-w', 'json']);
  await same((t) => ['lease', 'timetolive', l(t), '--keys']);
  await same((t) => ['lease', 'keep-alive', '--once', l(t)]);
  await same(['lease', 'list']);
  await same(['put', 'leased/c', '3', '--lease=1234']);
  await same((t) => ['put', 'leased/a', '--ignore-lease', '--ignore-value', `--lease=${l(t)}`]);
  await same((t) => ['lease', 'revoke', l(t)]);
  await same(['get', 'leased/', '--prefix']);
  await same((t) => ['lease', 'revoke', l(t)]);
  await same((t) => ['lease', 'timetolive', l(t)]);
  await same(['lease', 'keep-alive', '--once', '1234']);
  // Expiry: a 2 s lease (the minimum) with a key, not kept alive; its key goes with it.
  const short = await grant(2);
  await same((t) => ['put', 'leased/short', 'x', `--lease=${short(t)}`]);
  await sleep(4500);
  await same(['get', 'leased/short']);
  await same((t) => ['lease', 'timetolive', short(t)]);
  await same(['lease', 'list']);
});

test('endpoint status and health, member list', async () => {
  await same(['endpoint', 'status', '-w', 'json']);
  await same(['endpoint', 'health']);
  await same(['member', 'list', '-w', 'json']);
  await same(['alarm', 'list']);
  // Membership changes as etcd answers them: an id that is not a member, and promoting the one
  // (voting) member.
  await same(['member', 'remove', '1234']);
  await same(['member', 'update', '1234', '--peer-urls=http://127.0.0.1:1']);
  await same(['member', 'promote', '1234']);
  const selfIds = new Map<Target, string>();
  for (const t of [etcd, wk]) selfIds.set(t, BigInt(/"member_id":(\d+)/.exec((await ctl(t, ['endpoint', 'status', '-w', 'json'])).stdout)![1]!).toString(16));
  await same((t) => ['member', 'promote', selfIds.get(t)!]);
});

/** etcdctl's hash output, the value masked: watchkv hashes its own records, not bbolt's. */
const maskHash = (args: string[]) => async () => {
  for (const t of [etcd, wk]) {
    const r = await ctl(t, args);
    const masked = normalizeCtl(r.stdout, t).replace(/"hash":\d+/g, '"hash":H').replace(/ENDPOINT, \d+/g, 'ENDPOINT, H');
    hashOutputs.set(t, { code: r.code, out: masked, err: normalizeCtl(r.stderr, t) });
  }
  assert.equal(hashOutputs.get(wk), hashOutputs.get(etcd), `etcdctl ${args.join(' ')}`);
};
const hashOutputs = new Map<Target, { code: number | null; out: string; err: string }>();

async function hashAt(t: Target, rev: number): Promise<number> {
  const r = await ctl(t, ['endpoint', 'hashkv', `--rev=${rev}`, '-w', 'json']);
  const hash = /"hash":(\d+)/.exec(r.stdout)?.[1];
  assert.ok(hash, `hashkv on ${t.url}: ${r.stdout}${r.stderr}`);
  return Number(hash);
}

async function revisionOf(t: Target): Promise<number> {
  const r = await ctl(t, ['endpoint', 'status', '-w', 'json']);
  return Number(/"revision":(\d+)/.exec(r.stdout)?.[1]);
}

test('maintenance: defrag, endpoint hashkv, move-leader, alarm -w json', async () => {
  // `compact <rev> && defrag` is the usual clean-up script.
  await same(['put', 'maint/a', '1']);
  await same(['put', 'maint/a', '2']);
  await same(['defrag']);
  await same(['alarm', 'list', '-w', 'json']);
  await maskHash(['endpoint', 'hashkv'])();
  await maskHash(['endpoint', 'hashkv', '-w', 'json'])();
  await maskHash(['endpoint', 'hashkv', '--rev=-1', '-w', 'json'])();
  await same(['endpoint', 'hashkv', '--rev=999999']); // a future revision: OutOfRange, etcd's message

  // A hash is a function of the history up to its revision: later writes leave it alone.
  const rev = await revisionOf(wk);
  const before = await hashAt(wk, rev);
  assert.is(await hashAt(wk, rev), before);
  await same(['put', 'maint/b', '1']);
  assert.is(await hashAt(wk, rev), before);
  assert.is.not(await hashAt(wk, 0), before);

  assert.is(await revisionOf(etcd), rev + 1); // both started empty: revisions line up
  await same(['compaction', String(rev)]);
  await same(['endpoint', 'hashkv', `--rev=${rev}`]); // compacted
  await maskHash(['endpoint', 'hashkv', '-w', 'json'])();

  await same(['move-leader', '1']); // not a member: FailedPrecondition, "bad leader transferee"
  // To itself: the one member already leads, so etcd reports the transfer done at once.
  const self = new Map<Target, string>();
  for (const t of [etcd, wk]) self.set(t, BigInt(/"member_id":(\d+)/.exec((await ctl(t, ['endpoint', 'status', '-w', 'json'])).stdout)![1]!).toString(16));
  const moved = new Map<Target, string>();
  for (const t of [etcd, wk]) {
    const r = await ctl(t, ['move-leader', self.get(t)!]);
    // Masked by value: an id with a leading zero prints with fewer than 16 hex digits.
    moved.set(t, `${r.code} ${normalizeCtl(r.stdout.split(self.get(t)!).join('SELF'), t)} ${normalizeCtl(r.stderr, t)}`);
  }
  assert.is(moved.get(wk), moved.get(etcd));
  assert.match(moved.get(wk)!, 'Leadership transferred from SELF to SELF');
});

test.run();
