/**
 * Upstream mode against a real one-member etcd, through the public interfaces (the JSON gateway
 * and etcd's gRPC API of a watchkv node): the node lists and watches a prefix with etcd's
 * revisions, serves serializable reads from its mirror and forwards linearizable ones, forwards
 * writes, txns, leases and compaction, maps etcd's errors to the same answers, serves a watch
 * from before its start (older than its window) from etcd, and refuses bad flags clearly.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, type RunningServer } from '../../src/server.ts';
import { ConfigError, loadConfig } from '../../src/cli-options.ts';
import { EtcdGrpc, grpcError, openGrpcWatch } from '../api/grpc/grpc-client.ts';
import { until } from '../support/watch-harness.ts';
import { EtcdCluster } from '../../scripts/etcd-cluster.ts';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { SseClient } from '../support/sse-client.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const str = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString();
const prefixEnd = (p: string) => p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);

let cluster: EtcdCluster;
let etcd: EtcdGrpc;
let node: RunningServer;
let before = 0;

async function post(url: string, path: string, body: object): Promise<{ status: number; json: any }> {
  const res = await fetch(url + path, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

test.before(async () => {
  cluster = await EtcdCluster.start(1, ['--experimental-watch-progress-notify-interval', '500ms']);
  etcd = new EtcdGrpc(cluster.endpoints()[0]!);
  await etcd.call('KV', 'Put', { key: Buffer.from('/p/a'), value: Buffer.from('1') });
  await etcd.call('KV', 'Put', { key: Buffer.from('/p/b'), value: Buffer.from('2') });
  const r = await etcd.call('KV', 'Put', { key: Buffer.from('/q/x'), value: Buffer.from('outside') });
  before = Number(r.header.revision);
  node = await startServer({
    listenClientUrls: 'http://127.0.0.1:0',
    logLevel: 'silent',
    upstreamEndpoints: cluster.endpoints(),
    upstreamPrefix: '/p/',
    watchHistoryBytes: 0, // every catch-up is served from etcd
  });
});

test.after(async () => {
  await node?.close();
  etcd?.close();
  await cluster?.stop();
});

test('lists the prefix at etcd’s revision; serializable reads from the mirror, linearizable from etcd', async () => {
  assert.is(node.store.currentRevision(), before);
  const ser = await post(node.address, '/v3/kv/range', { key: b64('/p/'), range_end: b64(prefixEnd('/p/')), serializable: true });
  assert.is(ser.status, 200);
  assert.equal(ser.json.kvs.map((kv: any) => [str(kv.key), str(kv.value), kv.mod_revision]), [
    ['/p/a', '1', String(before - 2)],
    ['/p/b', '2', String(before - 1)],
  ]);
  assert.is(ser.json.header.revision, String(before));
  // A key outside the prefix is not in the mirror: forwarded even when serializable.
  const out = await post(node.address, '/v3/kv/range', { key: b64('/q/x'), serializable: true });
  assert.is(str(out.json.kvs[0].value), 'outside');
  // Written behind the node's back: a linearizable read sees it at once.
  const w = await etcd.call('KV', 'Put', { key: Buffer.from('/p/c'), value: Buffer.from('3') });
  const lin = await post(node.address, '/v3/kv/range', { key: b64('/p/c') });
  assert.is(str(lin.json.kvs[0].value), '3');
  assert.ok(Number(lin.json.header.revision) >= Number(w.header.revision));
  await until(() => node.store.currentRevision() >= Number(w.header.revision), 10_000, 'the mirror to reach the write');
  const ser2 = await post(node.address, '/v3/kv/range', { key: b64('/p/'), range_end: b64(prefixEnd('/p/')), serializable: true, count_only: true });
  assert.is(ser2.json.count, '3');
});

test('writes, txns and deletes are forwarded; the writer reads its own write through the node', async () => {
  const put = await post(node.address, '/v3/kv/put', { key: b64('/p/d'), value: b64('4'), prev_kv: true });
  assert.is(put.status, 200);
  const rev = Number(put.json.header.revision);
  const direct = await etcd.call('KV', 'Range', { key: Buffer.from('/p/d') });
  assert.is(direct.kvs[0].value.toString(), '4');
  assert.is(Number(direct.kvs[0].mod_revision), rev);
  // Visible at once through the node (the write waited for the mirror).
  const ser = await post(node.address, '/v3/kv/range', { key: b64('/p/d'), serializable: true });
  assert.is(ser.json.kvs[0].mod_revision, String(rev));
  const txn = await post(node.address, '/v3/kv/txn', {
    compare: [{ key: b64('/p/d'), target: 'VALUE', result: 'EQUAL', value: b64('4') }],
    success: [{ request_put: { key: b64('/p/e'), value: b64('5') } }, { request_range: { key: b64('/p/d') } }],
    failure: [],
  });
  assert.is(txn.json.succeeded, true);
  assert.is(str(txn.json.responses[1].response_range.kvs[0].value), '4');
  const failed = await post(node.address, '/v3/kv/txn', { compare: [{ key: b64('/p/d'), target: 'VERSION', result: 'EQUAL', version: '7' }], success: [], failure: [] });
  assert.is(failed.json.succeeded, undefined);
  const del = await post(node.address, '/v3/kv/deleterange', { key: b64('/p/e'), prev_kv: true });
  assert.is(del.json.deleted, '1');
  assert.is(str(del.json.prev_kvs[0].value), '5');
  assert.is((await etcd.call('KV', 'Range', { key: Buffer.from('/p/e') })).kvs.length, 0);
});

test('a watch from before the node started is served from etcd, then live, with etcd’s revisions (gRPC)', async () => {
  const w = openGrpcWatch(node.address, { key: Buffer.from('/p/'), range_end: Buffer.from(prefixEnd('/p/')), start_revision: String(before - 2), prev_kv: true });
  try {
    const live = await etcd.call('KV', 'Put', { key: Buffer.from('/p/a'), value: Buffer.from('live') });
    const liveRev = Number(live.header.revision);
    await until(() => w.responses.some((r) => r.events.some((e) => e.kv.modRevision === liveRev)), 10_000, 'the live event');
    const events = w.responses.flatMap((r) => r.events);
    const revs = events.map((e) => e.kv.modRevision);
    assert.equal(revs, [...revs].sort((a, c) => a - c), 'in order');
    assert.is(new Set(revs.map((r, i) => `${r}/${events[i]!.kv.key}`)).size, revs.length, 'no duplicates');
    assert.is(revs[0], before - 2);
    // Every upstream revision of the prefix since then, and nothing outside it.
    const truth = await etcd.call('KV', 'Range', { key: Buffer.from('/p/'), range_end: Buffer.from(prefixEnd('/p/')) });
    for (const kv of truth.kvs) assert.ok(revs.includes(Number(kv.mod_revision)), `has ${kv.key}@${kv.mod_revision}`);
    assert.not.ok(events.some((e) => e.kv.key.toString().startsWith('/q/')));
    const last = events[events.length - 1]!;
    assert.is(last.prevKv?.value.toString(), '1', 'prev_kv from etcd');
  } finally {
    w.close();
  }
});

test('WebSocket and SSE watches carry etcd’s revisions too', async () => {
  const ws = new WebSocket(node.address.replace('http', 'ws') + '/v3/watch');
  const frames: any[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ create_request: { key: b64('/p/ws'), prev_kv: true } }));
  const sse = await SseClient.open(`${node.address}/v1/watch/%2Fp%2Fsse`);
  try {
    await until(() => frames.length > 0, 10_000, 'ws created');
    await sse.until(() => sse.messages.length > 0, 'the first progress');
    const a = Number((await etcd.call('KV', 'Put', { key: Buffer.from('/p/ws'), value: Buffer.from('w') })).header.revision);
    const c = Number((await etcd.call('KV', 'Put', { key: Buffer.from('/p/sse'), value: Buffer.from('s') })).header.revision);
    await until(() => frames.some((f) => f.result?.events?.length), 10_000, 'the ws event');
    const ev = frames.find((f) => f.result?.events?.length).result;
    assert.is(ev.events[0].kv.mod_revision, String(a));
    assert.is(ev.header.revision, String(a));
    await sse.until(() => sse.messages.some((m) => m.event === 'change'), 'the sse change');
    const change = sse.messages.find((m) => m.event === 'change')!;
    assert.is(change.id, String(c));
    assert.is(JSON.parse(change.data).events[0].mod_revision, c);
  } finally {
    ws.close();
    sse.close();
  }
});

test('leases are forwarded to etcd; a revoke reaches watchers as DELETE', async () => {
  const g = await post(node.address, '/v3/lease/grant', { TTL: '30' });
  const id = g.json.ID;
  assert.ok(id);
  await post(node.address, '/v3/kv/put', { key: b64('/p/leased'), value: b64('x'), lease: id });
  const ttl = await post(node.address, '/v3/lease/timetolive', { ID: id, keys: true });
  assert.is(ttl.json.grantedTTL, '30');
  assert.equal(ttl.json.keys.map(str), ['/p/leased']);
  const ka = grpcKeepAlive(node.address, id);
  assert.is(await ka, '30');
  const etcdLeases = await etcd.call('Lease', 'LeaseLeases', {});
  assert.ok(etcdLeases.leases.some((l: any) => l.ID === id));
  const w = openGrpcWatch(node.address, { key: Buffer.from('/p/leased') });
  await until(() => w.responses.length > 0, 10_000, 'created');
  await post(node.address, '/v3/lease/revoke', { ID: id });
  await until(() => w.responses.some((r) => r.events.some((e) => e.type === 'DELETE')), 10_000, 'the DELETE');
  w.close();
});

function grpcKeepAlive(url: string, id: string): Promise<string> {
  const c = new EtcdGrpc(url);
  const call = c.stream('Lease', 'LeaseKeepAlive');
  return new Promise((resolve, reject) => {
    call.on('data', (m: any) => {
      resolve(m.TTL);
      call.cancel();
      c.close();
    });
    call.on('error', (e: any) => (e.code === 1 ? undefined : reject(e)));
    call.write({ ID: id });
  });
}

test('etcd errors reach clients as watchkv’s typed errors (compacted, future revision)', async () => {
  const cur = node.store.currentRevision();
  const c = await post(node.address, '/v3/kv/compaction', { revision: String(cur - 1) });
  assert.is(c.status, 200);
  const old = await post(node.address, '/v3/kv/range', { key: b64('/p/a'), revision: String(cur - 3) });
  assert.is(old.status, 400);
  assert.is(old.json.message, 'etcdserver: mvcc: required revision has been compacted');
  const future = await post(node.address, '/v3/kv/range', { key: b64('/p/a'), revision: String(cur + 1000) });
  assert.is(future.json.message, 'etcdserver: mvcc: required revision is a future revision');
  // A watch from below the compaction is canceled with compact_revision, as etcd does.
  const w = openGrpcWatch(node.address, { key: Buffer.from('/p/a'), start_revision: String(cur - 3) });
  try {
    await until(() => w.responses.some((r) => r.canceled), 10_000, 'the compacted cancel');
    const cancel = w.responses.find((r) => r.canceled)!;
    assert.is(cancel.compactRevision, cur - 1);
  } finally {
    w.close();
  }
});

test('defragment and the hashes are refused with a pointer to the etcd members (gRPC and HTTP)', async () => {
  const d = await post(node.address, '/v3/maintenance/defragment', {});
  assert.is(d.status, 501);
  assert.is(d.json.code, 12);
  assert.match(d.json.message, /not served in upstream mode; ask the etcd members/);
  assert.is((await post(node.address, '/v3/maintenance/hash', {})).status, 501);
  const client = new EtcdGrpc(node.address);
  try {
    const e = await grpcError(client.call('Maintenance', 'HashKV', { revision: 0 }));
    assert.is(e.code, 12); // UNIMPLEMENTED
    assert.match(e.details, /hashkv is not served in upstream mode/);
  } finally {
    client.close();
  }
});

test('/readyz is ready when caught up; /metrics shows the upstream lag', async () => {
  const r = await fetch(`${node.address}/readyz`);
  assert.is(r.status, 200);
  const m = await (await fetch(`${node.address}/metrics`)).text();
  assert.match(m, /watchkv_upstream_lag_revisions \d+/);
  assert.match(m, /watchkv_upstream_lag_seconds [\d.]+/);
  assert.match(m, /watchkv_upstream_connected 1/);
});

test('bad upstream flags are refused with a clear message', () => {
  const err = (argv: string[]): string => {
    try {
      loadConfig(argv, {});
    } catch (e) {
      assert.instance(e, ConfigError);
      return (e as Error).message;
    }
    throw new Error('expected a ConfigError');
  };
  assert.match(err(['--upstream-endpoints', 'https://h:2379']), 'only http://');
  assert.match(err(['--upstream-endpoints', 'nope']), 'is not a URL');
  assert.match(err(['--upstream-endpoints', 'http://h']), 'has no port');
  assert.match(err(['--upstream-endpoints', ',']), 'no URL given');
  assert.match(err(['--upstream-prefix', '/p/']), '--upstream-prefix needs --upstream-endpoints');
  assert.match(err(['--upstream-endpoints', 'http://h:2379', '--auto-compaction-retention', '1h']), 'compaction is the etcd cluster');
  // The command itself: exit code 2 and the message, before anything starts.
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts', '--upstream-endpoints', 'https://h:2379'], { cwd: fileURLToPath(new URL('../../', import.meta.url)), encoding: 'utf8' });
  assert.is(run.status, 2);
  assert.match(run.stderr, 'watchkv: --upstream-endpoints: only http:// member URLs are supported, got "https://h:2379"');
  const ok = loadConfig(['--upstream-endpoints', 'http://a:2379, http://b:2379/', '--upstream-prefix', '/x/'], {});
  assert.equal(typeof ok === 'object' && [ok.upstreamEndpoints, ok.upstreamPrefix], [['http://a:2379', 'http://b:2379'], '/x/']);
});

test.run();
