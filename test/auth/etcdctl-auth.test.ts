/**
 * etcdctl (the real 3.4 one) drives watchkv's Auth gRPC service: user and role commands,
 * `auth enable`, and `--user` for KV commands; the output and exit status of each command are
 * compared with the same command against a real etcd. Then which calls look at no credential
 * (member list, status, alarm list) and which need root first (membership changes), over gRPC.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EtcdGrpc, type GrpcError } from '../api/grpc/grpc-client.ts';
import { startEtcdTarget, startWatchkvTarget, type Target } from '../support/etcd-pair.ts';

let etcd: Target;
let wkv: Target;

function ctl(t: Target, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('etcdctl', [`--endpoints=${t.url.replace(/^https?:\/\//, '')}`, '--dial-timeout=3s', '--command-timeout=10s', ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out: normalize(out, t) }));
  });
}

function normalize(s: string, t: Target): string {
  return s
    .split(t.url.replace(/^https?:\/\//, '')).join('ENDPOINT')
    .replace(/^\{"level":"warn".*\n?/gm, '')
    .replace(/\b[0-9a-f]{16}\b/g, 'HEXID')
    .trim();
}

test.before(async () => {
  [etcd, wkv] = await Promise.all([startEtcdTarget(), startWatchkvTarget()]);
});
test.after(async () => {
  await Promise.all([etcd?.stop(), wkv?.stop()]);
});

const script: string[][] = [
  ['auth', 'enable'],
  ['user', 'add', 'root:rootpw'],
  ['user', 'grant-role', 'root', 'root'],
  ['role', 'add', 'app'],
  ['role', 'grant-permission', 'app', 'readwrite', 'app/', '--prefix=true'],
  ['role', 'grant-permission', 'app', 'read', 'config'],
  ['role', 'get', 'app'],
  ['user', 'add', 'alice:alicepw'],
  ['user', 'grant-role', 'alice', 'app'],
  ['user', 'get', 'alice'],
  ['user', 'list'],
  ['role', 'list'],
  ['auth', 'enable'],
  ['put', 'app/x', '1'],
  ['--user=alice:alicepw', 'put', 'app/x', '1'],
  ['--user=alice:alicepw', 'put', 'config', '1'],
  ['--user=alice:wrong', 'get', 'app/x'],
  ['--user=alice:alicepw', 'get', 'app/', '--prefix'],
  ['--user=alice:alicepw', 'get', 'other'],
  ['--user=alice:alicepw', 'user', 'list'],
  ['--user=root:rootpw', 'role', 'revoke-permission', 'app', 'config'],
  ['--user=root:rootpw', 'role', 'get', 'app'],
  ['--user=root:rootpw', 'user', 'revoke-role', 'alice', 'app'],
  ['--user=alice:alicepw', 'get', 'app/x'],
  ['--user=root:rootpw', 'user', 'passwd', 'alice', '--interactive=false'],
  ['--user=root:rootpw', 'user', 'delete', 'alice'],
  ['--user=root:rootpw', 'role', 'delete', 'app'],
  ['--user=root:rootpw', 'auth', 'disable'],
  ['user', 'list'],
];

test('etcdctl user/role/auth commands and --user: same output and exit status as etcd', async () => {
  for (const args of script) {
    const [e, w] = await Promise.all([ctl(etcd, args), ctl(wkv, args)]);
    assert.is(w.out, e.out, `etcdctl ${args.join(' ')}`);
    assert.is(w.code, e.code, `exit status of etcdctl ${args.join(' ')}`);
  }
});

test('with auth on, snapshot, defrag and hashkv are for root only, as in etcd', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-auth-snap-'));
  try {
    for (const args of [['user', 'add', 'bob:bobpw'], ['auth', 'enable']]) {
      const [e, w] = await Promise.all([ctl(etcd, args), ctl(wkv, args)]);
      assert.is(w.code, e.code, `etcdctl ${args.join(' ')}: ${w.out}`);
    }
    const commands = (t: Target): string[][] => [
      ['snapshot', 'save', join(dir, `${t === etcd ? 'etcd' : 'wkv'}.db`)],
      ['defrag'],
      ['endpoint', 'hashkv'],
    ];
    // etcd 3.4's Maintenance server refuses with its auth package's words (code Unknown), and
    // etcdctl prints them: the same last line from both.
    const lastLine = (out: string): string => out.trim().split('\n').pop()!;
    for (const [i, args] of commands(etcd).entries()) {
      const [e, w] = await Promise.all([ctl(etcd, ['--user=bob:bobpw', ...args]), ctl(wkv, ['--user=bob:bobpw', ...commands(wkv)[i]!])]);
      assert.is.not(w.code, 0, `bob: etcdctl ${args.join(' ')}`);
      assert.is(w.code, e.code, `bob: etcdctl ${args.join(' ')}`);
      assert.is(lastLine(w.out).replace(wkv.url, 'URL'), lastLine(e.out).replace(etcd.url, 'URL'), `bob: etcdctl ${args.join(' ')}`);
      assert.match(lastLine(w.out), 'auth: permission denied');
    }
    for (const t of [etcd, wkv]) {
      for (const args of commands(t)) {
        const root = await ctl(t, ['--user=root:rootpw', ...args]);
        assert.is(root.code, 0, `root: etcdctl ${args.join(' ')} on ${t.url}: ${root.out}`);
      }
    }
  } finally {
    await Promise.all([ctl(etcd, ['--user=root:rootpw', 'auth', 'disable']), ctl(wkv, ['--user=root:rootpw', 'auth', 'disable'])]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with auth on, member list, endpoint status and alarm list need no credential; membership changes root, checked first (as etcd)', async () => {
  // root (rootpw) and bob (bobpw) are left by the tests above, auth off.
  for (const t of [etcd, wkv]) assert.is((await ctl(t, ['auth', 'enable'])).code, 0);
  try {
    // Monitors and Patroni call these unsigned: etcd 3.4 looks at no credential for them.
    for (const args of [['member', 'list'], ['endpoint', 'status'], ['endpoint', 'health', '--user=bob:bobpw']]) {
      const [e, w] = await Promise.all([ctl(etcd, args), ctl(wkv, args)]);
      assert.is(e.code, 0, `etcd: etcdctl ${args.join(' ')}: ${e.out}`);
      assert.is(w.code, 0, `watchkv: etcdctl ${args.join(' ')}: ${w.out}`);
    }
    const same: string[][] = [
      ['alarm', 'list'],
      ['member', 'add', 'm2', '--peer-urls=http://127.0.0.1:9'],
      ['member', 'remove', '5'],
      ['member', 'update', '5', '--peer-urls=http://127.0.0.1:9'],
      ['--user=bob:bobpw', 'member', 'remove', '5'],
      ['--user=root:rootpw', 'member', 'remove', '5'],
    ];
    for (const args of same) {
      const [e, w] = await Promise.all([ctl(etcd, args), ctl(wkv, args)]);
      assert.is(w.out, e.out, `etcdctl ${args.join(' ')}`);
      assert.is(w.code, e.code, `exit status of etcdctl ${args.join(' ')}`);
    }
    // Over gRPC with a token that is not one: the member list and the status ignore it; an alarm
    // list refuses it in etcd's auth package's words (code Unknown), as etcd does.
    const bogus = new grpc.Metadata();
    bogus.set('token', 'bogus');
    const outcomes = async (t: Target): Promise<string[]> => {
      const c = new EtcdGrpc(t.url);
      try {
        const call = (service: 'Cluster' | 'Maintenance', method: string, req: object, md?: grpc.Metadata): Promise<string> =>
          c.call(service, method, req, md).then(() => 'ok', (err: GrpcError) => `${err.code} ${err.details}`);
        return [
          await call('Cluster', 'MemberList', {}, bogus),
          await call('Maintenance', 'Status', {}, bogus),
          await call('Maintenance', 'Alarm', { action: 'GET' }, bogus),
          await call('Maintenance', 'Alarm', { action: 'GET' }),
        ];
      } finally {
        c.close();
      }
    };
    const [e, w] = await Promise.all([outcomes(etcd), outcomes(wkv)]);
    assert.equal(w, e);
    assert.equal(w, ['ok', 'ok', '2 auth: invalid auth token', 'ok']);
    // A deliberate difference: etcd 3.4 lets a caller with no credential raise NOSPACE (every
    // write refused after it); watchkv asks root to raise or disarm an alarm.
    const c = new EtcdGrpc(wkv.url);
    try {
      const nospace = { action: 'ACTIVATE', memberID: '0', alarm: 'NOSPACE' };
      const refused = await c.call('Maintenance', 'Alarm', nospace).then(() => 'ok', (err: GrpcError) => `${err.code} ${err.details}`);
      assert.is(refused, `${grpc.status.INVALID_ARGUMENT} etcdserver: user name is empty`);
      const root = new grpc.Metadata();
      root.set('token', (await c.call('Auth', 'Authenticate', { name: 'root', password: 'rootpw' })).token);
      await c.call('Maintenance', 'Alarm', nospace, root);
      const asBob = await ctl(wkv, ['--user=bob:bobpw', 'alarm', 'disarm']);
      assert.match(asBob.out, 'etcdserver: permission denied');
      const asRoot = await ctl(wkv, ['--user=root:rootpw', 'alarm', 'disarm']);
      assert.is(asRoot.code, 0, asRoot.out);
      assert.match(asRoot.out, 'alarm:NOSPACE');
    } finally {
      c.close();
    }
  } finally {
    await Promise.all([ctl(etcd, ['--user=root:rootpw', 'auth', 'disable']), ctl(wkv, ['--user=root:rootpw', 'auth', 'disable'])]);
  }
});

test.run();
