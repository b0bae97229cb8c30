/**
 * The `watchkv` CLI as a user runs it, a real process against a real server: KV commands in the
 * three output formats, etcdctl's txn input, endpoint health and status, the documented exit
 * codes, and --help with examples on every command. (cli-ops.test.ts: leases, export/import,
 * watch, serve.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { WatchKvClient } from '../../src/client/node.ts';
import { buildProgram } from '../../src/cli/program.ts';
import { freePort } from '../client/support/tcp-proxy.ts';
import { cli } from './support.ts';

let s: TestServer;
let c: WatchKvClient;
let E: string[];
const tmp = mkdtempSync(join(tmpdir(), 'watchkv-cli-'));

test.before(async () => {
  s = await startTestServer({}, { memory: true });
  c = new WatchKvClient({ endpoints: [s.url] });
  E = ['--endpoints', s.url];
});
test.after(async () => {
  c.close();
  await s.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('put, get in three formats, del; WATCHKV_ENDPOINTS, else ETCDCTL_ENDPOINTS', async () => {
  assert.equal(await cli([...E, 'put', '/cli/a', 'one']), { code: 0, stdout: 'OK\n', stderr: '' });
  assert.is((await cli(['put', '/cli/b', 'two'], { env: { WATCHKV_ENDPOINTS: s.url } })).code, 0);
  // etcdctl's variable when watchkv's is not set; watchkv's wins when both are.
  assert.equal(await cli(['get', '/cli/b', '--print-value-only'], { env: { ETCDCTL_ENDPOINTS: s.url } }), { code: 0, stdout: 'two\n', stderr: '' });
  assert.is((await cli(['get', '/cli/b'], { env: { WATCHKV_ENDPOINTS: s.url, ETCDCTL_ENDPOINTS: 'http://127.0.0.1:1' } })).code, 0);
  assert.is((await cli([...E, 'put', '/cli/c'], { input: 'from stdin' })).code, 0);
  assert.is((await cli([...E, 'get', '/cli/', '--prefix'])).stdout, '/cli/a\none\n/cli/b\ntwo\n/cli/c\nfrom stdin\n');
  assert.is((await cli([...E, 'get', '/cli/', '--prefix', '--keys-only', '--limit', '2'])).stdout, '/cli/a\n/cli/b\n');
  assert.is((await cli([...E, 'get', '/cli/', '--prefix', '--count-only'])).stdout, '3\n');
  const j = JSON.parse((await cli([...E, '-w', 'json', 'get', '/cli/a'])).stdout);
  assert.is(j.kvs[0].value, 'one');
  assert.is(j.kvs[0].version, 1);
  const t = (await cli([...E, '-w', 'table', 'get', '/cli/', '--prefix'])).stdout;
  assert.match(t, /│ KEY\s+│ VALUE/);
  assert.match(t, /│ \/cli\/c\s+│ from stdin │/);
  assert.equal(await cli([...E, 'del', '/cli/', '--prefix']), { code: 0, stdout: '3\n', stderr: '' });
  assert.is((await c.range('/cli/', { prefix: true })).count, 0);
});
test("txn in etcdctl's format: SUCCESS then FAILURE", async () => {
  const input = 'version("/cli/lock") = "0"\n\nput /cli/lock "me too"\n\nget /cli/lock\n';
  assert.equal(await cli([...E, 'txn'], { input }), { code: 0, stdout: 'SUCCESS\n\nOK\n', stderr: '' });
  assert.equal(await cli([...E, 'txn'], { input }), { code: 0, stdout: 'FAILURE\n\n/cli/lock\nme too\n', stderr: '' });
  const bad = await cli([...E, 'txn'], { input: 'nonsense("x") = "1"\n\n\n' });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /compare target/);
});
test('endpoint health and status; exit codes 1, 2, 3', async () => {
  const h = await cli([...E, 'endpoint', 'health']);
  assert.is(h.code, 0);
  assert.match(h.stdout, new RegExp(`^${s.url} is healthy: successfully committed proposal: took = [\\d.]+ms\\n$`));
  const port = await freePort(); // nothing listens there
  const bad = await cli(['--endpoints', `${s.url},127.0.0.1:${port}`, 'endpoint', 'health']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /is unhealthy/);
  const st = JSON.parse((await cli([...E, '-w', 'json', 'endpoint', 'status'])).stdout);
  assert.is(st[0].endpoint, s.url);
  assert.ok(st[0].revision > 0);
  assert.is((await cli([...E, 'get'])).code, 2);
  assert.is((await cli([...E, '-w', 'yaml', 'get', 'x'])).code, 2);
  const unreachable = await cli(['--endpoints', `127.0.0.1:${port}`, 'get', 'x']);
  assert.is(unreachable.code, 3);
  assert.match(unreachable.stderr, /no endpoint answered/);
  const future = await cli([...E, 'get', 'x', '--rev', '999999']);
  assert.is(future.code, 1);
  assert.match(future.stderr, /future revision \(code 11\)/);
});
test('--help on every command has examples; the program help lists exit codes', () => {
  const program = buildProgram();
  const all = (c: typeof program): (typeof program)[] => c.commands.flatMap((x) => [x, ...all(x)]);
  for (const cmd of [program, ...all(program)]) {
    let text = '';
    cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
    cmd.outputHelp();
    assert.match(text, /Examples:\n\s+\$ /, `${cmd.name()} --help has no examples`);
  }
  let text = '';
  program.configureOutput({ writeOut: (s) => (text += s) });
  program.outputHelp();
  assert.match(text, /Exit codes:\n\s+0\s+success/);
  assert.match(text, /WATCHKV_ENDPOINTS/);
});


test.run();
