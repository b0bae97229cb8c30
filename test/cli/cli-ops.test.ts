/**
 * The `watchkv` CLI as a user runs it, a real process against a real server: leases in hex,
 * NDJSON export/import between two servers (bytes that are not text included), watch printing
 * events and exiting 0 on SIGINT (4 when its revision is compacted), `serve`, and the space
 * quota's NOSPACE alarm seen and disarmed with `alarm list | disarm` and `endpoint status`, and
 * `member list` printed as etcdctl prints it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { WatchKvClient } from '../../src/client/node.ts';
import { freePort, until } from '../client/support/tcp-proxy.ts';
import { cli, cliProcess } from './support.ts';

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

test('leases in hex: grant, timetolive, list, keep-alive --once, revoke', async () => {
  const g = await cli([...E, 'lease', 'grant', '60']);
  const m = /^lease ([0-9a-f]+) granted with TTL\(60s\)\n$/.exec(g.stdout);
  assert.ok(m, g.stdout + g.stderr);
  const hex = m![1]!;
  assert.is((await cli([...E, 'put', '/cli/leased', 'v', '--lease', hex])).code, 0);
  assert.match((await cli([...E, 'lease', 'timetolive', hex, '--keys'])).stdout, new RegExp(`^lease ${hex} granted with TTL\\(60s\\), remaining\\(\\d+s\\), attached keys\\(\\[/cli/leased\\]\\)`));
  assert.match((await cli([...E, 'lease', 'list'])).stdout, new RegExp(`found \\d+ leases\\n(.*\\n)*${hex}\\n`));
  assert.equal(await cli([...E, 'lease', 'keep-alive', '--once', hex]), { code: 0, stdout: `lease ${hex} keepalived with TTL(60)\n`, stderr: '' });
  assert.equal(await cli([...E, 'lease', 'revoke', hex]), { code: 0, stdout: `lease ${hex} revoked\n`, stderr: '' });
  assert.is(await c.get('/cli/leased'), undefined);
  const gone = await cli([...E, 'lease', 'keep-alive', hex]);
  assert.is(gone.code, 1);
  assert.match(gone.stderr, /expired or revoked/);
  assert.is((await cli([...E, 'lease', 'revoke', 'not-hex'])).code, 2);
});
test('export and import a prefix as NDJSON between two servers, bytes included', async () => {
  for (let i = 0; i < 250; i++) await c.put(`/exp/${String(i).padStart(3, '0')}`, `value ${i}`);
  await c.put(new Uint8Array([...new TextEncoder().encode('/exp/'), 0xff, 0x00]), new Uint8Array([0, 1, 0xfe]));
  const file = join(tmp, 'exp.ndjson');
  const ex = await cli([...E, 'export', '/exp/', '-o', file, '--page-size', '40']);
  assert.is(ex.code, 0, ex.stderr);
  assert.match(ex.stderr, /^exported 251 keys at revision \d+\n$/);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.is(lines.length, 251);
  assert.equal(JSON.parse(lines[0]!), { key: '/exp/000', value: 'value 0' });
  assert.ok(lines.some((l) => l.includes('key_b64')));
  const other = await startTestServer({}, { memory: true });
  try {
    const im = await cli(['--endpoints', other.url, 'import', file]);
    assert.is(im.code, 0, im.stderr);
    assert.is(im.stderr, 'imported 251 keys\n');
    const oc = new WatchKvClient({ endpoints: [other.url] });
    const a = (await c.range('/exp/', { prefix: true })).kvs.map((kv) => [kv.keyBase64, kv.raw.value]);
    const b = (await oc.range('/exp/', { prefix: true })).kvs.map((kv) => [kv.keyBase64, kv.raw.value]);
    assert.equal(b, a);
    // A key twice in one file: the last value wins (txns keep file order).
    writeFileSync(join(tmp, 'dup.ndjson'), '{"key":"/d","value":"1"}\n{"key":"/d","value":"2"}\n');
    assert.is((await cli(['--endpoints', other.url, 'import', join(tmp, 'dup.ndjson')])).code, 0);
    assert.is((await oc.get('/d'))?.value, '2');
    const bad = await cli(['--endpoints', other.url, 'import'], { input: '{"key":"/x","value":"1"}\nnot json\n' });
    assert.is(bad.code, 2);
    assert.match(bad.stderr, /line 2: not JSON/);
  } finally {
    await other.stop();
  }
});
test('watch prints events as they come and exits 0 on SIGINT; 4 when compacted', async () => {
  const w = cliProcess([...E, 'watch', '/cli-w/', '--prefix', '--prev-kv']);
  // Wait until the watch is registered: a put lands in its output once it is.
  for (let i = 0; !w.output().includes('/cli-w/ping'); i++) {
    if (i === 100) {
      w.child.kill();
      throw new Error(`the watch did not start: ${w.errors()}`);
    }
    await c.put('/cli-w/ping', 'x');
    await new Promise((r) => setTimeout(r, 200));
  }
  const before = w.output().length;
  await c.put('/cli-w/a', '1');
  await c.put('/cli-w/a', '2');
  await c.delete('/cli-w/a');
  await until(() => w.output().slice(before).split('\n').length >= 12, 'the events');
  assert.is(w.output().slice(before), 'PUT\n/cli-w/a\n1\nPUT\n/cli-w/a\n1\n/cli-w/a\n2\nDELETE\n/cli-w/a\n2\n/cli-w/a\n\n');
  w.child.kill('SIGINT');
  assert.is(await w.exited, 0);
  assert.is(w.errors(), '');

  const last = await c.put('/cli-w/b', 'x');
  await c.compact(last.revision);
  const old = await cli([...E, 'watch', '/cli-w/', '--prefix', '--rev', '2']);
  assert.is(old.code, 4);
  assert.match(old.stderr, /compacted/);
});
test('a full store: put fails, alarm list and endpoint status show NOSPACE, del + alarm disarm recover', async () => {
  const small = await startTestServer({ quotaBackendBytes: 40_000 }, { memory: true });
  const S = ['--endpoints', small.url];
  try {
    assert.equal(await cli([...S, 'alarm', 'list']), { code: 0, stdout: '', stderr: '' });
    let refused: { code: number | null; stderr: string } | undefined;
    for (let i = 0; i < 40 && !refused; i++) {
      const r = await cli([...S, 'put', `/full/${i}`], { input: 'x'.repeat(2000) });
      if (r.code !== 0) refused = r;
    }
    assert.ok(refused, 'a put was refused');
    assert.is(refused.code, 1);
    assert.match(refused.stderr, 'etcdserver: mvcc: database space exceeded (code 8)');
    const sc = new WatchKvClient({ endpoints: [small.url] });
    const status = await sc.status();
    sc.close();
    const member = status.header.memberId;
    assert.equal(status.errors, [`memberID:${member} alarm:NOSPACE `]);
    assert.equal(await cli([...S, 'alarm', 'list']), { code: 0, stdout: `memberID:${member} alarm:NOSPACE\n`, stderr: '' });
    const st = JSON.parse((await cli([...S, '-w', 'json', 'endpoint', 'status'])).stdout);
    assert.is(st[0].errors, `memberID:${member} alarm:NOSPACE`);
    assert.match((await cli([...S, '-w', 'table', 'endpoint', 'status'])).stdout, /ERRORS[\s\S]*alarm:NOSPACE/);
    // Make room: deletes and compaction go on; writes wait for the disarm.
    assert.is((await cli([...S, 'del', '/full/', '--prefix'])).code, 0);
    assert.is((await cli([...S, 'compaction', '--physical', String(status.header.revision + 1)])).code, 0);
    assert.is((await cli([...S, 'put', 'after', 'v'])).code, 1);
    assert.equal(await cli([...S, '-w', 'json', 'alarm', 'disarm']), { code: 0, stdout: `{"alarms":[{"member_id":"${member}","alarm":"NOSPACE"}]}\n`, stderr: '' });
    assert.equal(await cli([...S, 'alarm', 'list']), { code: 0, stdout: '', stderr: '' });
    assert.equal(await cli([...S, 'put', 'after', 'v']), { code: 0, stdout: 'OK\n', stderr: '' });
  } finally {
    await small.stop();
  }
});

test('member list: the server with every listen URL, printed exactly as etcdctl prints it', async () => {
  const two = await startTestServer({ listenClientUrls: 'http://127.0.0.1:0,http://127.0.0.1:0', name: 'infra0' }, { memory: true });
  try {
    const urls = two.server.addresses;
    const ours = await cli(['--endpoints', two.url, 'member', 'list']);
    assert.is(ours.code, 0, ours.stderr);
    const theirs = await new Promise<string>((resolve) => {
      const p = spawn('etcdctl', [`--endpoints=${two.url}`, 'member', 'list'], { env: { ...process.env, ETCDCTL_API: '3' } });
      let o = '';
      p.stdout.on('data', (d) => (o += d));
      p.on('close', () => resolve(o));
    });
    assert.is(ours.stdout, theirs);
    assert.match(ours.stdout, `, started, infra0, , ${urls.join(',')}, false`);
    const json = JSON.parse((await cli(['--endpoints', two.url, '-w', 'json', 'member', 'list'])).stdout);
    assert.equal(json.members[0].clientURLs, urls);
    const sdk = new WatchKvClient({ endpoints: [urls[1]!] });
    assert.equal((await sdk.members()).map((m) => [m.name, m.clientUrls]), [['infra0', urls]]);
    sdk.close();
  } finally {
    await two.stop();
  }
});

test('serve starts a server with the npm start flags; SIGTERM stops it', async () => {
  const port = await freePort();
  const dir = join(tmp, 'serve-data');
  const p = cliProcess(['serve', '--listen-client-urls', `http://127.0.0.1:${port}`, '--data-dir', dir, '--log-level', 'error']);
  try {
    await until(() => p.child.exitCode !== null || existsReady(port), 'the server', 20_000);
    const r = await cli(['--endpoints', `127.0.0.1:${port}`, 'put', 'k', 'v']);
    assert.is(r.code, 0, r.stderr);
  } finally {
    p.child.kill('SIGTERM');
  }
  assert.is(await p.exited, 0);
  const help = await cli(['serve', '--help']);
  assert.match(help.stdout, /--listen-client-urls/);
  const badFlag = await cli(['serve', '--no-such-flag']);
  assert.is(badFlag.code, 2);
});

let readyCache = false;
function existsReady(port: number): boolean {
  if (!readyCache)
    fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => (readyCache = r.ok),
      () => {},
    );
  return readyCache;
}

test.run();
