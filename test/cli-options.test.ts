/** Config from flags and environment; bad values → ConfigError, and the CLI exits with code 2. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { ConfigError, loadConfig, type ServerConfig } from '../src/cli-options.ts';
import { DEFAULTS } from '../src/config.ts';

test('defaults, flags, environment (flags win), durations with units', () => {
  const d = loadConfig([], {}) as ServerConfig;
  assert.is(d.listenClientUrls, 'http://127.0.0.1:2379');
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

test('bad values throw ConfigError with the flag name', () => {
  for (const argv of [['--max-txn-ops', 'x'], ['--progress-notify-interval', '10 parsecs'], ['--listen-client-urls', 'nope'], ['--log-level', 'loud'], ['--watch-history-bytes', '-1'], ['--sse-progress-interval', '10'], ['--sse-heartbeat-interval', 'soon'], ['--bogus']]) {
    try {
      loadConfig(argv, {});
      assert.unreachable(argv.join(' '));
    } catch (err) {
      assert.instance(err, ConfigError, argv.join(' '));
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

test.run();
