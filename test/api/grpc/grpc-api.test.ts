/**
 * etcd's gRPC API on watchkv's one port, through a plain grpc-js client: KV answers and headers,
 * errors with etcd's codes and messages, request size limits, watch (events, prev_kv, fragment,
 * cancel, progress), HTTP/2 flow-control backpressure, unimplemented methods, HTTP on the same
 * port, and shutdown ending streams with UNAVAILABLE.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { status } from '@grpc/grpc-js';
import { startTestServer, type TestServer } from '../../support/test-server.ts';
import { post } from '../../support/http-client.ts';
import { until } from '../../support/watch-harness.ts';
import { validateComplete, validateWatcher } from '../../support/watch-validator.ts';
import { EtcdGrpc, buf, grpcError, toWatchResponse } from './grpc-client.ts';

let srv: TestServer;
let c: EtcdGrpc;

test.before(async () => {
  srv = await startTestServer({ maxRequestBytes: 1024 * 1024 }, { memory: true });
  c = new EtcdGrpc(srv.url);
});
test.after(async () => {
  c.close();
  await srv.stop();
});

test('put and range answer with the same header as the HTTP gateway, on the same port', async () => {
  const put = await c.call('KV', 'Put', { key: buf('a'), value: buf('1') });
  const http = await post(srv.url, '/v3/kv/range', { key: Buffer.from('a').toString('base64') });
  assert.is(http.status, 200);
  assert.equal(put.header, http.body.header);
  const r = await c.call('KV', 'Range', { key: buf('a') });
  assert.is(r.count, '1');
  assert.is(r.kvs[0].value.toString(), '1');
  assert.is(r.kvs[0].create_revision, put.header.revision);
  assert.is(r.header.revision, put.header.revision);
});

test('range options: prefix, limit, sort, keys_only, count_only', async () => {
  for (const k of ['p/1', 'p/2', 'p/3']) await c.call('KV', 'Put', { key: buf(k), value: buf(k.toUpperCase()) });
  const r = await c.call('KV', 'Range', { key: buf('p/'), range_end: buf('p0'), limit: 2, sort_order: 'DESCEND', sort_target: 'KEY' });
  assert.equal(r.kvs.map((kv: any) => kv.key.toString()), ['p/3', 'p/2']);
  assert.is(r.more, true);
  assert.is(r.count, '3');
  const k = await c.call('KV', 'Range', { key: buf('p/'), range_end: buf('p0'), keys_only: true });
  assert.is(k.kvs[0].value.length, 0);
  const n = await c.call('KV', 'Range', { key: buf('p/'), range_end: buf('p0'), count_only: true });
  assert.is(n.kvs.length, 0);
  assert.is(n.count, '3');
});

test('txn: compares, nested ops, inner headers carry only the revision', async () => {
  const rev = Number((await c.call('KV', 'Put', { key: buf('t'), value: buf('x') })).header.revision);
  const r = await c.call('KV', 'Txn', {
    compare: [{ key: buf('t'), target: 'VALUE', result: 'EQUAL', value: buf('x') }],
    success: [{ request_put: { key: buf('t'), value: buf('y'), prev_kv: true } }, { request_range: { key: buf('t') } }],
    failure: [],
  });
  assert.is(r.succeeded, true);
  assert.is(Number(r.header.revision), rev + 1);
  assert.is(r.responses[0].response_put.prev_kv.value.toString(), 'x');
  assert.equal(r.responses[1].response_range.header, { cluster_id: '0', member_id: '0', revision: String(rev + 1), raft_term: '0' });
  assert.is(r.responses[1].response_range.kvs[0].value.toString(), 'y');
});

test("errors carry etcd's gRPC code and message", async () => {
  let e = await grpcError(c.call('KV', 'Put', { key: Buffer.alloc(0), value: buf('v') }));
  assert.is(e.code, status.INVALID_ARGUMENT);
  assert.is(e.details, 'etcdserver: key is not provided');
  e = await grpcError(c.call('KV', 'Range', { key: buf('a'), revision: 1_000_000 }));
  assert.is(e.code, status.OUT_OF_RANGE);
  assert.is(e.details, 'etcdserver: mvcc: required revision is a future revision');
  const cur = Number((await c.call('KV', 'Put', { key: buf('c'), value: buf('1') })).header.revision);
  await c.call('KV', 'Put', { key: buf('c'), value: buf('2') });
  await c.call('KV', 'Compact', { revision: cur });
  e = await grpcError(c.call('KV', 'Range', { key: buf('c'), revision: cur - 1 }));
  assert.is(e.code, status.OUT_OF_RANGE);
  assert.is(e.details, 'etcdserver: mvcc: required revision has been compacted');
  e = await grpcError(c.call('KV', 'Put', { key: buf('c'), value: buf('v'), ignore_value: true }));
  assert.is(e.code, status.INVALID_ARGUMENT);
  assert.is(e.details, 'etcdserver: value is provided');
  e = await grpcError(c.call('KV', 'Txn', { success: [{ request_put: { key: buf('d'), value: buf('1') } }, { request_put: { key: buf('d'), value: buf('2') } }] }));
  assert.is(e.details, 'etcdserver: duplicate key given in txn request');
});

test('--max-request-bytes: requests over it are refused, responses may exceed it', async () => {
  const big = Buffer.alloc(700 * 1024, 1);
  await c.call('KV', 'Put', { key: buf('big/1'), value: big });
  await c.call('KV', 'Put', { key: buf('big/2'), value: big });
  const r = await c.call('KV', 'Range', { key: buf('big/'), range_end: buf('big0') });
  assert.is(r.kvs.length, 2, 'a 1.4 MB response over a 1 MB request limit');
  let e = await grpcError(c.call('KV', 'Put', { key: buf('big/3'), value: Buffer.alloc(1024 * 1024 + 10) }));
  assert.is(e.code, status.INVALID_ARGUMENT);
  assert.is(e.details, 'etcdserver: request is too large');
  e = await grpcError(c.call('KV', 'Put', { key: buf('big/3'), value: Buffer.alloc(2 * 1024 * 1024) }));
  assert.is(e.code, status.RESOURCE_EXHAUSTED, 'over maxRequestBytes + 512 KiB: gRPC refuses the message');
  await c.call('KV', 'DeleteRange', { key: buf('big/'), range_end: buf('big0') });
});

function openWatch(client = c) {
  const call = client.stream('Watch', 'Watch');
  const got: any[] = [];
  call.on('data', (m) => got.push(m));
  call.on('error', () => {});
  return { call, got };
}

test('watch: created, events with prev_kv, filters, progress, cancel', async () => {
  const w = openWatch();
  w.call.write({ create_request: { key: buf('w/'), range_end: buf('w0'), prev_kv: true, filters: ['NODELETE'] } });
  await until(() => w.got.length === 1, 5000, 'created');
  assert.is(w.got[0].created, true);
  const id = w.got[0].watch_id;
  await c.call('KV', 'Put', { key: buf('w/a'), value: buf('1') });
  await c.call('KV', 'Put', { key: buf('w/a'), value: buf('2') });
  await c.call('KV', 'DeleteRange', { key: buf('w/a') });
  await until(() => w.got.length === 3, 5000, 'two put events');
  assert.is(w.got[2].events[0].prev_kv.value.toString(), '1');
  assert.is(w.got[2].events[0].type, 'PUT');
  w.call.write({ progress_request: {} });
  await until(() => w.got.length === 4, 5000, 'progress');
  assert.is(w.got[3].watch_id, '-1');
  assert.is(w.got[3].events.length, 0);
  w.call.write({ cancel_request: { watch_id: id } });
  await until(() => w.got.length === 5, 5000, 'canceled');
  assert.is(w.got[4].canceled, true);
  w.call.end();
});

test('watch: a compacted start revision is canceled with compact_revision, header revision 0', async () => {
  const w = openWatch();
  w.call.write({ create_request: { key: buf('c'), start_revision: 1 } });
  await until(() => w.got.length === 2, 5000, 'created + canceled');
  assert.is(w.got[1].canceled, true);
  assert.ok(Number(w.got[1].compact_revision) > 1);
  assert.is(w.got[1].header.revision, '0');
  w.call.end();
});

test('watch: fragment splits a response over the limit; parts reassemble to the revision', async () => {
  const v = Buffer.alloc(450 * 1024, 2); // 4 × 450 KB with prev_kv > the 2 MiB fragment size
  await c.call('KV', 'Put', { key: buf('f/1'), value: v });
  await c.call('KV', 'Put', { key: buf('f/2'), value: v });
  const w = openWatch();
  w.call.write({ create_request: { key: buf('f/'), range_end: buf('f0'), prev_kv: true, fragment: true } });
  await until(() => w.got.length === 1, 5000, 'created');
  await c.call('KV', 'Txn', { success: [{ request_put: { key: buf('f/1'), value: v } }, { request_put: { key: buf('f/2'), value: v } }] });
  await until(() => w.got.length === 3, 5000, 'two fragments');
  assert.is(w.got[1].fragment, true);
  assert.is(w.got[2].fragment, false);
  assert.is(w.got[1].events.length + w.got[2].events.length, 2);
  w.call.end();
});

test('watch: a client that stops reading makes its watchers victims; they catch up, complete and in order', async () => {
  const w = openWatch();
  w.call.write({ create_request: { key: buf('bp/'), range_end: buf('bp0'), prev_kv: true } });
  await until(() => w.got.length === 1, 5000, 'created');
  const start = Number(w.got[0].header.revision);
  w.call.pause(); // grpc-js stops reading: the HTTP/2 window fills, the server's writes wait
  const value = Buffer.alloc(32 * 1024, 7);
  for (let i = 0; i < 200; i++) await c.call('KV', 'Put', { key: buf(`bp/${i % 20}`), value });
  const end = Number((await c.call('KV', 'Range', { key: buf('bp/0') })).header.revision);
  w.call.resume();
  const count = () => w.got.reduce((n, r) => n + r.events.length, 0);
  await until(() => count() >= 200, 20_000, 'every event after resume');
  const history = await srv.server.store.history(start + 1, end, { withPrevKv: true });
  const observed = { request: { key: buf('bp/'), rangeEnd: buf('bp0'), startRevision: 0, progressNotify: false, prevKv: true, noPut: false, noDelete: false, watchId: 0, fragment: false }, responses: w.got.map((r) => toWatchResponse(r, true)) };
  assert.equal(validateWatcher(history, observed), []);
  assert.equal(validateComplete(history, observed, end), []);
  w.call.end();
});

test('unimplemented methods answer UNIMPLEMENTED; alarms raised and disarmed; hashkv, defragment, move-leader', async () => {
  // Auth is served now: enabling without a root user is etcd's FailedPrecondition.
  let e = await grpcError(c.call('Auth', 'AuthEnable', {}));
  assert.is(e.code, status.FAILED_PRECONDITION);
  assert.is(e.details, 'etcdserver: root user does not exist');
  e = await grpcError(c.call('Cluster', 'MemberAdd', { peerURLs: ['http://127.0.0.1:1'] }));
  assert.is(e.code, status.UNIMPLEMENTED);
  assert.equal((await c.call('Maintenance', 'Alarm', { action: 'GET' })).alarms, []);
  const raised = await c.call('Maintenance', 'Alarm', { action: 'ACTIVATE', memberID: '9', alarm: 'NOSPACE' });
  assert.equal(raised.alarms, [{ memberID: '9', alarm: 'NOSPACE' }]);
  assert.is(raised.header, null); // as etcd 3.4: the alarm answer carries no header
  e = await grpcError(c.call('KV', 'Put', { key: buf('alarmed'), value: buf('v') }));
  assert.equal([e.code, e.details], [status.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded']);
  assert.equal((await c.call('Maintenance', 'Status', {})).errors, ['memberID:9 alarm:NOSPACE ']);
  assert.equal((await c.call('Maintenance', 'Alarm', { action: 'DEACTIVATE', memberID: '9', alarm: 'NOSPACE' })).alarms, [{ memberID: '9', alarm: 'NOSPACE' }]);
  assert.equal((await c.call('Maintenance', 'Alarm', { action: 'GET' })).alarms, []);
  e = await grpcError(c.call('Maintenance', 'Alarm', { action: 7 }));
  assert.equal([e.code, e.details], [status.INVALID_ARGUMENT, 'unknown value 7 for enum etcdserverpb.AlarmRequest_AlarmAction']);
  // HashKV over grpc-js: the header's revision is the current one; a future revision is OutOfRange.
  const h = await c.call('Maintenance', 'HashKV', { revision: 0 });
  assert.type(h.hash, 'number');
  assert.match(h.compact_revision, /^(-1|\d+)$/); // int64 as a string; earlier tests here compact
  e = await grpcError(c.call('Maintenance', 'HashKV', { revision: Number(h.header.revision) + 1 }));
  assert.is(e.code, status.OUT_OF_RANGE);
  assert.is(e.details, 'etcdserver: mvcc: required revision is a future revision');
  e = await grpcError(c.call('Maintenance', 'HashKV', { revision: '9007199254740993' }));
  assert.is(e.code, status.INVALID_ARGUMENT);
  assert.equal(await c.call('Maintenance', 'Defragment', {}), { header: null });
  e = await grpcError(c.call('Maintenance', 'MoveLeader', { targetID: '1' }));
  assert.is(e.code, status.FAILED_PRECONDITION);
  assert.is(e.details, 'etcdserver: bad leader transferee');
  const s = await c.call('Maintenance', 'Status', {});
  assert.is(s.version, '3.4.23');
  assert.is(s.leader, s.header.member_id);
  const m = await c.call('Cluster', 'MemberList', {});
  assert.is(m.members.length, 1);
  assert.equal(m.members[0].clientURLs, [srv.url]);
});

test('shutdown ends watch streams with UNAVAILABLE', async () => {
  const other = await startTestServer({}, { memory: true });
  const client = new EtcdGrpc(other.url);
  const call = client.stream('Watch', 'Watch');
  const got: any[] = [];
  call.on('data', (m) => got.push(m));
  const ended = new Promise<any>((resolve) => call.on('error', resolve));
  call.write({ create_request: { key: buf('x') } });
  await until(() => got.length === 1, 5000, 'created');
  await other.stop();
  const err = await ended;
  assert.is(err.code, status.UNAVAILABLE);
  client.close();
});

test.run();
