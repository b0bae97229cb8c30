/**
 * etcd's own gRPC proxy (`etcd grpc-proxy start`, Go clientv3) in front of a real etcd 3.4 and in
 * front of watchkv; one etcdctl script runs through each proxy and every command's exit code and
 * output must match once ids and timings are masked. The proxy coalesces watchers on the same
 * range into one upstream watch, answers serializable reads from its cache, and forwards leases
 * and keep-alives on streams of its own: a server that works behind it serves clientv3's watch,
 * lease and KV machinery as etcd does. Both servers start empty, so revisions line up exactly.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startEtcdTarget, startWatchkvTarget, type Target } from '../../support/etcd-pair.ts';
import { ctl, normalizeCtl, spawnCtl } from '../../support/etcdctl.ts';
import { startGrpcProxy } from '../../support/grpc-proxy.ts';
import { sleep } from '../../support/watch-harness.ts';

let servers: Target[] = [];
let etcd: Target; // the proxy in front of etcd
let wk: Target; // the proxy in front of watchkv

test.before(async () => {
  servers = await Promise.all([startEtcdTarget(), startWatchkvTarget()]);
  [etcd, wk] = await Promise.all(servers.map(startGrpcProxy));
});
test.after(async () => {
  await Promise.all([etcd?.stop(), wk?.stop()]);
  await Promise.all(servers.map((s) => s.stop()));
});

const leaseIds = new Map<Target, string>();
const mask = (s: string, t: Target): string => {
  const id = leaseIds.get(t);
  return normalizeCtl((id ? s.split(id).join('LEASE') : s).replace(/remaining\(\d+s\)/g, 'remaining(Ns)'), t);
};

/** One command through each proxy; exit code and output must match. */
async function same(args: string[] | ((t: Target) => string[]), stdin = ''): Promise<string> {
  const argsOf = typeof args === 'function' ? args : () => args;
  const [e, w] = await Promise.all([ctl(etcd, argsOf(etcd), stdin), ctl(wk, argsOf(wk), stdin)]);
  const ne = { code: e.code, out: mask(e.stdout + e.stderr, etcd) };
  const nw = { code: w.code, out: mask(w.stdout + w.stderr, wk) };
  assert.equal(nw, ne, `etcdctl ${argsOf(etcd).join(' ')}`);
  return ne.out;
}

/** `watchers` watches with the same args through one proxy (it coalesces them), then `then`. */
async function watchThrough(t: Target, args: string[], watchers: number, then: () => Promise<void>, lines: number): Promise<string[]> {
  const outs = Array.from({ length: watchers }, () => '');
  const procs = outs.map((_, i) => {
    const p = spawnCtl(t, ['watch', ...args]);
    p.stdout!.on('data', (d) => (outs[i] += d));
    p.stderr!.on('data', (d) => (outs[i] += d));
    return { p, exited: new Promise((r) => p.on('close', r)) };
  });
  await sleep(300); // let the watches start (they begin at a revision, so none can miss an event)
  await then();
  for (let i = 0; i < 100 && outs.some((o) => o.split('\n').filter(Boolean).length < lines); i++) await sleep(50);
  await sleep(150);
  for (const { p } of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((x) => x.exited));
  return outs.map((o) => mask(o, t));
}

async function sameWatch(args: string[], watchers: number, then: (t: Target) => Promise<void>, lines: number): Promise<string> {
  const [e, w] = await Promise.all([watchThrough(etcd, args, watchers, () => then(etcd), lines), watchThrough(wk, args, watchers, () => then(wk), lines)]);
  for (const out of [...e, ...w]) assert.is(out, e[0], `every watcher through either proxy sees the same: watch ${args.join(' ')}`);
  assert.is(e[0]!.split('\n').filter(Boolean).length, lines, `watch ${args.join(' ')}: ${e[0]}`);
  return e[0]!;
}

test('KV through the proxy: puts, reads (linearizable and from its cache), txn, deletes', async () => {
  await same(['put', 'p/a', '1']);
  await same(['put', 'p/b', '2']);
  await same(['put', 'p/a', '3', '--prev-kv']);
  await same(['get', 'p/', '--prefix', '-w', 'json']);
  await same(['get', 'p/a', '--consistency=s']);
  await same(['get', 'p/a', '--consistency=s']); // the proxy's cache answers the second
  await same(['get', 'p/a', '--rev=2']);
  await same(['txn'], 'value("p/a") = "3"\n\nput p/c 4\nget p/ --prefix\n\nput p/c nope\n\n');
  await same(['del', 'p/b', '--prev-kv']);
  await same(['get', 'p/', '--prefix', '--keys-only']);
});

test('watches through the proxy: three watchers on one range, and two from an old revision', async () => {
  // From the next revision, not "now": a watch the proxy sets up late still sees every event.
  const next = Number(JSON.parse((await ctl(etcd, ['get', 'x', '-w', 'json'])).stdout).header.revision) + 1;
  const out = await sameWatch([`--rev=${next}`, 'w/', '--prefix', '--prev-kv'], 3, async (t) => {
    await ctl(t, ['put', 'w/1', 'a']);
    await ctl(t, ['put', 'w/1', 'b']);
    await ctl(t, ['del', 'w/1']);
  }, 12);
  // etcdctl prints a previous value before the event's own key-value.
  assert.is(out, 'PUT\nw/1\na\nPUT\nw/1\na\nw/1\nb\nDELETE\nw/1\nb\nw/1');
  await sameWatch(['--rev=2', 'p/a'], 2, async () => {}, 6);
});

test('leases through the proxy: grant, put, timetolive, keep-alive, revoke', async () => {
  for (const t of [etcd, wk]) {
    const r = await ctl(t, ['lease', 'grant', '60']);
    const id = /lease ([0-9a-f]+) granted/.exec(r.stdout)?.[1];
    assert.ok(id, `lease grant through the proxy to ${t.url}: ${r.stdout}${r.stderr}`);
    leaseIds.set(t, id!);
  }
  const l = (t: Target): string => leaseIds.get(t)!;
  await same((t) => ['put', 'l/a', 'x', `--lease=${l(t)}`]);
  await same((t) => ['lease', 'timetolive', l(t), '--keys']);
  await same((t) => ['lease', 'keep-alive', '--once', l(t)]);
  await same((t) => ['lease', 'revoke', l(t)]);
  await same(['get', 'l/a']);
  await same((t) => ['lease', 'timetolive', l(t)]);
});

test('compaction through the proxy, then a read and a watch below it', async () => {
  const rev = Number(JSON.parse((await ctl(etcd, ['get', 'x', '-w', 'json'])).stdout).header.revision);
  await same(['compact', String(rev - 1)]);
  await same(['get', 'p/a', '--rev=2']);
  const out = await sameWatch(['--rev=2', 'p/a'], 1, async () => {}, 2);
  assert.match(out, /watch was canceled \(etcdserver: mvcc: required revision has been compacted\)/);
});

test('a lock held through one proxy and waited for through it', async () => {
  const [e, w] = await Promise.all([ctl(etcd, ['lock', 'mutex', '--', 'echo', 'held']), ctl(wk, ['lock', 'mutex', '--', 'echo', 'held'])]);
  assert.equal([w.code, w.stdout], [e.code, e.stdout]);
  assert.is(w.stdout.trim(), 'held');
});

test.run();
