/**
 * Several --listen-client-urls, each serving the whole API, and --advertise-client-urls, as etcd
 * (kubeadm's etcd listens on https://127.0.0.1:2379 and the node's IP). What clients observe:
 * etcdctl and the JSON gateway on every port, member list naming the advertised URLs, and
 * `etcdctl endpoint status --cluster` (which dials each clientURL member list gives) reaching
 * every listener. A URL that cannot be bound fails the start and frees the ports already bound.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { b64, post } from '../support/http-client.ts';
import { ctl as ctlAt } from '../support/etcdctl.ts';
import { startTestServer } from '../support/test-server.ts';
import { ensureBuilt, portIsFree, root } from '../support/built-server.ts';

const hexId = (s: string): string => BigInt(s).toString(16);
const ctl = async (url: string, args: string[]): Promise<{ code: number | null; out: string }> => {
  const r = await ctlAt({ url, stop: async () => undefined }, args);
  return { code: r.code, out: r.stdout + r.stderr };
};

test('every listen URL serves etcdctl and the gateway; member list and endpoint status --cluster see them all', async () => {
  const s = await startTestServer({ listenClientUrls: 'http://127.0.0.1:0,http://127.0.0.1:0' }, { memory: true });
  try {
    const [a, b] = s.server.addresses;
    assert.ok(a && b && a !== b, `two bound URLs: ${s.server.addresses}`);
    assert.is(s.url, a);
    const put = await ctl(a!, ['put', '/multi/k', 'from-a']);
    assert.is(put.code, 0, put.out);
    const got = await ctl(b!, ['get', '/multi/k', '--print-value-only']);
    assert.is(got.out.trim(), 'from-a');
    const range = await post(b!, '/v3/kv/range', { key: b64('/multi/k') });
    assert.is(range.status, 200);
    assert.is(Buffer.from(range.body.kvs[0].value, 'base64').toString(), 'from-a');

    const list = JSON.parse((await ctl(b!, ['member', 'list', '-w', 'json'])).out);
    assert.equal(list.members[0].clientURLs, [a, b]);
    const gw = await post(a!, '/v3/cluster/member/list', {});
    assert.equal(gw.body.members[0].clientURLs, [a, b]);

    const status = await ctl(a!, ['endpoint', 'status', '--cluster', '-w', 'json']);
    assert.is(status.code, 0, status.out);
    const rows = JSON.parse(status.out) as Array<{ Endpoint: string; Status: { header: { revision: number } } }>;
    assert.equal(rows.map((r) => r.Endpoint).sort(), [a, b].sort());
    for (const r of rows) assert.is(r.Status.header.revision, Number(range.body.header.revision));
  } finally {
    await s.stop();
  }
});

test('--advertise-client-urls is what member list gives, over gRPC and the gateway', async () => {
  const advertised = ['http://kv-0.example.test:2379', 'http://10.9.8.7:2379'];
  const s = await startTestServer({ advertiseClientUrls: advertised }, { memory: true });
  try {
    const list = JSON.parse((await ctl(s.url, ['member', 'list', '-w', 'json'])).out);
    assert.equal(list.members[0].clientURLs, advertised);
    assert.is(hexId(String(list.members[0].ID)), hexId(String(list.header.member_id)));
    const table = await ctl(s.url, ['member', 'list']);
    assert.match(table.out, 'http://kv-0.example.test:2379,http://10.9.8.7:2379');
    const gw = await post(s.url, '/v3/cluster/member/list', {});
    assert.equal(gw.body.members[0].clientURLs, advertised);
  } finally {
    await s.stop();
  }
});

/** Runs the built server with `args` until it exits (it should, within the timeout). */
function runBuilt(args: string[]): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-listen-'));
  try {
    const r = spawnSync(process.execPath, [join(root, 'dist/server.js'), '--data-dir', join(dir, 'data'), ...args], { encoding: 'utf8', timeout: 20_000 });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a listen URL that cannot be bound fails the start, naming it, and frees the ports bound before it', async () => {
  ensureBuilt();
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const takenPort = (taken.address() as net.AddressInfo).port;
  const spare = net.createServer();
  await new Promise<void>((r) => spare.listen(0, '127.0.0.1', r));
  const firstPort = (spare.address() as net.AddressInfo).port;
  await new Promise((r) => spare.close(r));
  try {
    const r = runBuilt(['--listen-client-urls', `http://127.0.0.1:${firstPort},http://127.0.0.1:${takenPort}`]);
    assert.is.not(r.status, 0);
    assert.match(r.out, `cannot listen on http://127.0.0.1:${takenPort}`);
    assert.match(r.out, 'EADDRINUSE');
    assert.ok(await portIsFree(firstPort), 'the first URL was released');
  } finally {
    await new Promise((r) => taken.close(r));
  }
});

test('bad listen and advertise URLs are refused with exit code 2 and a message', () => {
  ensureBuilt();
  const cases: Array<[string[], string]> = [
    [['--advertise-client-urls', 'ftp://h:1'], '--advertise-client-urls: only http:// and https:// URLs are supported, got "ftp://h:1"'],
    [['--advertise-client-urls', 'http://h:2379/v3'], '--advertise-client-urls: "http://h:2379/v3" has more than scheme://host:port'],
    [['--advertise-client-urls', ','], '--advertise-client-urls: no URL given'],
    [['--listen-client-urls', 'http://127.0.0.1:23999,http://127.0.0.1:23999'], '--listen-client-urls: http://127.0.0.1:23999 is given twice'],
    [['--listen-client-urls', 'not a url'], '--listen-client-urls: "not a url" is not a URL'],
  ];
  for (const [args, message] of cases) {
    const r = runBuilt(args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.out}`);
    assert.match(r.out, message);
  }
});

test.run();
