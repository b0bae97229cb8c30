/**
 * etcd's own server flags (src/etcd-flags.ts): the command line of a single-member etcd, as
 * systemd units and Kubernetes static pods write it, starts both a real etcd 3.4 and watchkv,
 * and etcdctl gets the same answers from both, and their metrics URLs the same /health and
 * /metrics; watchkv names the flags that change nothing.
 * Values that ask for what watchkv cannot be are refused with the reason.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/cli-options.ts';
import type { ServerConfig } from '../src/config.ts';
import { etcdBinary, freePort } from '../scripts/etcd-server.ts';
import { ensureBuilt, spawnProc, type Proc } from './support/built-server.ts';
import { ctl } from './support/etcdctl.ts';

ensureBuilt();
const dir = mkdtempSync(join(tmpdir(), 'watchkv-etcd-flags-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const config = (argv: string[], env: NodeJS.ProcessEnv = {}): ServerConfig => loadConfig(argv, env) as ServerConfig;

function refused(argv: string[], message: RegExp, env: NodeJS.ProcessEnv = {}): void {
  try {
    loadConfig(argv, env);
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.match((err as Error).message, message);
    return;
  }
  assert.unreachable(`${argv.join(' ')} was accepted`);
}

test('etcd\'s names for watchkv settings, Go booleans, and the flags that change nothing', () => {
  const c = config(['--experimental-watch-progress-notify-interval=1m30s', '--debug', '--snapshot-count', '5000', '--client-cert-auth=false', '--enable-v2=false', '--peer-client-cert-auth=true']);
  assert.is(c.progressNotifyIntervalMs, 90_000);
  assert.is(c.logLevel, 'debug');
  assert.is(c.clientCertAuth, false);
  assert.equal(c.ignoredEtcdFlags, ['--snapshot-count', '--peer-client-cert-auth']);
  // watchkv's own names win over etcd's.
  assert.is(config(['--experimental-watch-progress-notify-interval=5s', '--progress-notify-interval', '7s']).progressNotifyIntervalMs, 7000);
  assert.is(config(['--debug', '--log-level', 'warn']).logLevel, 'warn');
  assert.equal(config([]).ignoredEtcdFlags, []);
});

test('the flags of kubeadm\'s etcd static pod are all taken', () => {
  const c = config([
    '--advertise-client-urls=https://10.0.0.1:2379', '--cert-file=/pki/server.crt', '--client-cert-auth=true', '--data-dir=/var/lib/etcd',
    '--experimental-initial-corrupt-check=true', '--experimental-watch-progress-notify-interval=5s', '--initial-advertise-peer-urls=https://10.0.0.1:2380',
    '--initial-cluster=node1=https://10.0.0.1:2380', '--key-file=/pki/server.key', '--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.1:2379',
    '--listen-metrics-urls=http://127.0.0.1:2381', '--listen-peer-urls=https://10.0.0.1:2380', '--name=node1', '--peer-cert-file=/pki/peer.crt',
    '--peer-client-cert-auth=true', '--peer-key-file=/pki/peer.key', '--peer-trusted-ca-file=/pki/ca.crt', '--snapshot-count=10000',
    '--trusted-ca-file=/pki/ca.crt',
  ]);
  assert.equal([c.clientCertAuth, c.progressNotifyIntervalMs, c.listenMetricsUrls, c.name], [true, 5000, ['http://127.0.0.1:2381'], 'node1']);
  assert.equal(c.ignoredEtcdFlags, [
    '--listen-peer-urls', '--initial-advertise-peer-urls', '--snapshot-count', '--peer-cert-file', '--peer-key-file', '--peer-trusted-ca-file',
    '--experimental-initial-corrupt-check', '--peer-client-cert-auth', '--initial-cluster',
  ]);
});

test('what watchkv cannot be is refused, saying why', () => {
  refused(['--initial-cluster', 'a=http://10.0.0.1:2380,b=http://10.0.0.2:2380', '--name', 'a'], /names 2 members; watchkv is one member/);
  refused(['--initial-cluster', 'other=http://10.0.0.1:2380'], /no member named "default"/);
  refused(['--initial-cluster-state', 'existing'], /cannot join an etcd cluster/);
  refused(['--initial-cluster-state', 'maybe'], /not one of new, existing/);
  refused(['--enable-v2'], /v3 API only/);
  refused(['--auto-tls=true'], /does not make its own certificates/);
  refused(['--host-whitelist', 'example.com'], /--host-whitelist: not supported/);
  refused(['--listen-metrics-urls', 'https://127.0.0.1:2381'], /--listen-metrics-urls: only http:\/\/ URLs/);
  refused(['--strict-reconfig-check=maybe'], /"maybe" is not true or false/);
  refused(['--experimental-watch-progress-notify-interval', '10'], /not a duration/);
  refused(['--no-such-flag'], /Unknown option '--no-such-flag'/);
});

/** A single-member etcd's command line, on its own ports and data dir. */
async function etcdCommandLine(name: string, data: string): Promise<{ url: string; metrics: string; args: string[] }> {
  const url = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const metrics = `http://127.0.0.1:${await freePort()}`;
  const args = [
    `--name=${name}`, `--data-dir=${data}`, `--listen-metrics-urls=${metrics}`,
    `--listen-client-urls=${url}`, `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${name}=${peer}`, '--initial-cluster-token=tkn', '--initial-cluster-state=new',
    '--snapshot-count=10000', '--heartbeat-interval=100', '--election-timeout=1000',
    '--experimental-initial-corrupt-check=true', '--experimental-watch-progress-notify-interval=5s',
    '--auto-compaction-mode=periodic', '--auto-compaction-retention=1', '--quota-backend-bytes=8589934592',
    '--logger=zap', '--log-outputs=stderr', '--log-level=warn',
  ];
  return { url, metrics, args };
}

/** `--name=x` → `ETCD_NAME=x`: the same settings as etcd's environment variables. */
function asEnv(args: string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(args.map((a) => /^--([a-z0-9-]+)=(.*)$/.exec(a)!).map((m) => [`ETCD_${m[1]!.toUpperCase().replaceAll('-', '_')}`, m[2]!]));
}

test('etcd\'s ETCD_* environment variables are read when the command line says nothing', () => {
  const c = config(['--name', 'flag'], { ETCD_NAME: 'env', ETCD_DATA_DIR: '/from-env', ETCD_SNAPSHOT_COUNT: '5', ETCD_CLIENT_CERT_AUTH: 'false', ETCD_DEBUG: 'true', WATCHKV_MAX_TXN_OPS: '9', ETCD_MAX_TXN_OPS: '8' });
  assert.equal([c.name, c.dataDir, c.logLevel, c.maxTxnOps, c.clientCertAuth], ['flag', '/from-env', 'debug', 9, false]);
  assert.equal(c.ignoredEtcdFlags, ['--snapshot-count']);
  refused([], /names 2 members/, { ETCD_INITIAL_CLUSTER: 'a=http://x:1,b=http://y:1', ETCD_NAME: 'a' });
  refused([], /ETCD_ENABLE_PPROF: "yes" is not true or false/, { ETCD_ENABLE_PPROF: 'yes' });
});

/** etcd and watchkv started from the same settings, as flags or as ETCD_* variables. */
async function sameStart(mode: 'flags' | 'environment'): Promise<void> {
  const bin = etcdBinary();
  assert.ok(bin, 'etcd is installed (scripts/install-etcd.sh)');
  const e = await etcdCommandLine('s1', join(dir, `etcd-${mode}`));
  const w = await etcdCommandLine('s1', join(dir, `watchkv-${mode}`));
  const etcd = mode === 'flags' ? spawn(bin!, e.args, { stdio: 'ignore' }) : spawn(bin!, [], { stdio: 'ignore', env: { ...process.env, ...asEnv(e.args) } });
  let wk: Proc | undefined;
  try {
    wk = mode === 'flags' ? spawnProc(process.execPath, ['dist/server.js', ...w.args]) : spawnProc(process.execPath, ['dist/server.js'], { env: asEnv(w.args) });
    const warning = await wk.waitLog((l) => typeof l.msg === 'string' && l.msg.startsWith('etcd flags accepted with no effect'));
    assert.equal(warning.flags, [
      '--initial-cluster-token', '--listen-peer-urls', '--initial-advertise-peer-urls', '--snapshot-count', '--heartbeat-interval',
      '--election-timeout', '--logger', '--log-outputs', '--experimental-initial-corrupt-check', '--initial-cluster', '--initial-cluster-state',
    ]);
    for (const args of [['put', 'k', 'v'], ['get', 'k'], ['member', 'list', '-w', 'simple']]) {
      const [a, b] = await Promise.all([retryCtl(e.url, args), retryCtl(w.url, args)]);
      // Member ids differ, and watchkv lists no peer URLs (no raft): README's differences.
      const norm = (out: string, url: string): string => out.replaceAll(url, 'URL').replace(/[0-9a-f]+, started, s1, [^,]*, /, 'ID, started, s1, PEERS, ');
      assert.is(norm(b, w.url), norm(a, e.url), args.join(' '));
    }
    // The metrics URL: /health and /metrics (a liveness probe and Prometheus), nothing else.
    const get = async (base: string, path: string): Promise<string> => {
      const r = await fetch(base + path);
      return `${r.status} ${r.headers.get('content-type')} ${path === '/metrics' ? (await r.text()).includes('\netcd_debugging_mvcc_current_revision ') : await r.text()}`;
    };
    for (const path of ['/health', '/health?exclude=NOSPACE&serializable=true', '/metrics', '/v3/kv/range', '/version']) {
      assert.is(await get(w.metrics, path), await get(e.metrics, path), `metrics URL ${path}`);
    }
  } finally {
    etcd.kill('SIGKILL');
    await wk?.destroy();
  }
}

test('the same etcd flags start etcd and watchkv; etcdctl and the metrics URL get the same answers', () => sameStart('flags'));
test('the same ETCD_* environment starts etcd and watchkv, with the same answers', () => sameStart('environment'));

/** etcdctl against a server that may still be starting: retried until it answers (10 s at most). */
async function retryCtl(url: string, args: string[]): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await ctl({ url, stop: async () => {} }, args);
    if (r.code === 0 || Date.now() > deadline) return `${r.code} ${r.stdout}`;
    await new Promise((res) => setTimeout(res, 200));
  }
}

test.run();
