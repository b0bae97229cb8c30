/** Config from flags and environment; bad values → ConfigError, and the CLI exits with code 2. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, HELP, loadConfig } from '../src/cli-options.ts';
import { DEFAULTS, type ServerConfig } from '../src/config.ts';

test('defaults, flags, environment (flags win), durations with units', () => {
  const d = loadConfig([], {}) as ServerConfig;
  assert.is(d.listenClientUrls, 'http://127.0.0.1:2379');
  assert.is(d.name, 'default', "etcd's default member name");
  assert.is((loadConfig(['--name', 'infra0'], {}) as ServerConfig).name, 'infra0');
  assert.is((loadConfig([], { WATCHKV_NAME: 'infra1' }) as ServerConfig).name, 'infra1');
  assert.is(d.maxRequestBytes, DEFAULTS.maxRequestBytes);
  assert.is(d.maxBodyBytes, DEFAULTS.maxBodyBytes);
  const c = loadConfig(['--data-dir', '/x', '--progress-notify-interval', '5s', '--max-txn-ops=7'], { WATCHKV_DATA_DIR: '/env', WATCHKV_MAX_WATCH_STREAMS: '9' }) as ServerConfig;
  assert.is(c.dataDir, '/x');
  assert.is(c.progressNotifyIntervalMs, 5000);
  assert.is(c.maxTxnOps, 7);
  assert.is(c.maxWatchStreams, 9);
  assert.is(d.watchHistoryBytes, DEFAULTS.watchHistoryBytes);
  assert.is((loadConfig(['--watch-history-bytes', '0'], {}) as ServerConfig).watchHistoryBytes, 0);
  assert.is((loadConfig([], { WATCHKV_WATCH_HISTORY_BYTES: '500' }) as ServerConfig).watchHistoryBytes, 500);
  assert.is(loadConfig(['--help'], {}), 'help');
  assert.is(d.sseProgressIntervalMs, DEFAULTS.sseProgressIntervalMs);
  const sse = loadConfig(['--sse-progress-interval', '2s'], { WATCHKV_SSE_HEARTBEAT_INTERVAL: '500ms' }) as ServerConfig;
  assert.equal([sse.sseProgressIntervalMs, sse.sseHeartbeatIntervalMs], [2000, 500]);
});

test('--h2-framing: own by default, node on request, from the flag or WATCHKV_H2_FRAMING', () => {
  assert.is((loadConfig([], {}) as ServerConfig).h2Framing, 'own');
  assert.is((loadConfig(['--h2-framing', 'node'], {}) as ServerConfig).h2Framing, 'node');
  assert.is((loadConfig([], { WATCHKV_H2_FRAMING: 'node' }) as ServerConfig).h2Framing, 'node');
});

test('bad values throw ConfigError with the flag name', () => {
  for (const argv of [['--max-txn-ops', 'x'], ['--progress-notify-interval', '10 parsecs'], ['--listen-client-urls', 'nope'], ['--log-level', 'loud'], ['--watch-history-bytes', '-1'], ['--sse-progress-interval', '10'], ['--sse-heartbeat-interval', 'soon'], ['--h2-framing', 'nghttp2'], ['--bogus']]) {
    try {
      loadConfig(argv, {});
      assert.unreachable(argv.join(' '));
    } catch (err) {
      assert.instance(err, ConfigError, argv.join(' '));
    }
  }
});

test('--listen-client-urls takes a list; --advertise-client-urls is checked the same way', () => {
  const c = loadConfig(['--listen-client-urls', 'http://127.0.0.1:2379, http://[::1]:2380', '--advertise-client-urls', 'http://db.example:2379'], {}) as ServerConfig;
  assert.is(c.listenClientUrls, 'http://127.0.0.1:2379,http://[::1]:2380');
  assert.equal(c.advertiseClientUrls, ['http://db.example:2379']);
  assert.equal((loadConfig([], {}) as ServerConfig).advertiseClientUrls, [], 'unset: the bound URLs are advertised');
  assert.is((loadConfig(['--listen-client-urls', 'http://127.0.0.1:0,http://127.0.0.1:0'], {}) as ServerConfig).listenClientUrls, 'http://127.0.0.1:0,http://127.0.0.1:0', 'port 0 twice is two free ports');
  const bad: Array<[string[], RegExp]> = [
    [['--listen-client-urls', 'http://127.0.0.1:2379,http://127.0.0.1:2379'], /listen-client-urls: http:\/\/127\.0\.0\.1:2379 is given twice/],
    [['--listen-client-urls', 'unix://sock'], /only http:\/\/ and https:\/\//],
    [['--listen-client-urls', 'http://127.0.0.1:2379/v3'], /more than scheme:\/\/host:port/],
    [['--listen-client-urls', ' , '], /no URL given/],
    [['--advertise-client-urls', 'db:2379'], /advertise-client-urls/],
  ];
  for (const [argv, msg] of bad) {
    try {
      loadConfig(argv, {});
      assert.unreachable(argv.join(' '));
    } catch (err) {
      assert.instance(err, ConfigError, argv.join(' '));
      assert.match((err as Error).message, msg);
    }
  }
});

test('the CLI exits with code 2 and a message on a bad flag', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts', '--max-txn-ops', 'many'], { encoding: 'utf8', timeout: 30000 });
  assert.is(r.status, 2);
  assert.match(r.stderr, '--max-txn-ops: "many" is not a positive integer');
  const h = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts', '--help'], { encoding: 'utf8', timeout: 30000 });
  assert.is(h.status, 0);
  assert.match(h.stdout, '--listen-client-urls');
});

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-conf-'));
  const file = join(dir, 'watchkv.yaml');
  writeFileSync(file, text);
  return file;
}

test('--config-file: YAML with the flag names; flags and environment win over it', () => {
  const file = configFile(
    ['# like etcd.conf.yml', 'listen-client-urls: [http://127.0.0.1:4001]', 'data-dir: /from-file', 'max-txn-ops: 64', 'max-watch-streams: 5', 'progress-notify-interval: 2s', 'log-level:', ''].join('\n'),
  );
  const f = loadConfig(['--config-file', file], {}) as ServerConfig;
  assert.is(f.listenClientUrls, 'http://127.0.0.1:4001');
  assert.is(f.dataDir, '/from-file');
  assert.is(f.maxTxnOps, 64);
  assert.is(f.maxWatchStreams, 5);
  assert.is(f.progressNotifyIntervalMs, 2000);
  assert.is(f.logLevel, DEFAULTS.logLevel, 'an empty value leaves the default');
  const env = { WATCHKV_DATA_DIR: '/from-env', WATCHKV_MAX_TXN_OPS: '32' };
  const p = loadConfig(['--config-file', file, '--max-txn-ops', '16'], env) as ServerConfig;
  assert.is(p.maxTxnOps, 16, 'flag over env and file');
  assert.is(p.dataDir, '/from-env', 'env over file');
  assert.is(p.maxWatchStreams, 5, 'file over default');
  const e = loadConfig([], { WATCHKV_CONFIG_FILE: file }) as ServerConfig;
  assert.is(e.dataDir, '/from-file', 'WATCHKV_CONFIG_FILE names the file too');
  assert.is((loadConfig(['--config-file', configFile('')], {}) as ServerConfig).dataDir, DEFAULTS.dataDir, 'an empty file is no settings');
});

test('--config-file: unknown keys, bad YAML, bad values and a missing file are ConfigErrors', () => {
  const cases: Array<[string, RegExp]> = [
    ['data-dir: /x\ninitial-cluster: infra0=x\ninitial-cluster-token: t\n', /unknown keys "initial-cluster", "initial-cluster-token"/],
    ['data_dir: /x\n', /unknown key "data_dir"/],
    ['data-dir: [unclosed\n', /not valid YAML/],
    ['- data-dir\n', /must be a mapping/],
    ['max-txn-ops: lots\n', /--max-txn-ops: "lots" is not a positive integer/],
    ['data-dir: {a: 1}\n', /data-dir must be a string/],
  ];
  for (const [text, message] of cases) {
    try {
      loadConfig(['--config-file', configFile(text)], {});
      assert.unreachable(text);
    } catch (err) {
      assert.instance(err, ConfigError, text);
      assert.match((err as Error).message, message);
    }
  }
  assert.throws(() => loadConfig(['--config-file', '/nonexistent/watchkv.yaml'], {}), /cannot read/);
});

test('the CLI exits with code 2 naming an unknown config-file key', () => {
  const file = configFile('data-dir: /tmp/x\nsnapshot-count: 10000\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts', '--config-file', file], { encoding: 'utf8', timeout: 30000 });
  assert.is(r.status, 2);
  assert.match(r.stderr, 'unknown key "snapshot-count"');
});

test("README's configuration table lists exactly the server's flags, once each", () => {
  const inHelp = [...HELP.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((m) => m[1]!).filter((f) => f !== 'help' && f !== 'version');
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 5));
  const rows = [...section.matchAll(/^\| `--([a-z0-9-]+)` \| `(WATCHKV_[A-Z0-9_]+)` \|/gm)];
  const inReadme = rows.map((m) => m[1]!);
  assert.equal([...inReadme].sort(), [...new Set(inReadme)].sort(), 'a flag listed twice');
  assert.equal([...inReadme].sort(), [...inHelp].sort());
  for (const m of rows) assert.is(m[2], `WATCHKV_${m[1]!.toUpperCase().replaceAll('-', '_')}`, `environment variable of --${m[1]}`);
});

test.run();
