/**
 * The unary gateway endpoints over real HTTP, byte for byte against etcd 3.4's transcripts
 * (shared reference §B; cluster/member ids replaced by ours).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../support/test-server.ts';

let s: TestServer;
let H: (rev: number) => string;

async function call(path: string, body: string, method = 'POST'): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(s.url + path, { method, body: method === 'POST' ? body : undefined, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

async function expectOk(path: string, body: string, expected: string): Promise<void> {
  const r = await call(path, body);
  assert.is(r.status, 200, r.text);
  assert.is(r.type, 'application/json');
  assert.is(r.text, expected);
}

async function expectErr(path: string, body: string, status: number, code: number, message: string): Promise<void> {
  const r = await call(path, body);
  assert.is(r.status, status, r.text);
  const m = JSON.stringify(message);
  assert.is(r.text, `{"error":${m},"message":${m},"code":${code}}`);
}

test.before(async () => {
  s = await startTestServer({ maxTxnOps: 4, maxRequestBytes: 4096 });
  const status = JSON.parse((await call('/v3/maintenance/status', '{}')).text);
  const { cluster_id, member_id } = status.header;
  H = (rev) => `{"cluster_id":"${cluster_id}","member_id":"${member_id}","revision":"${rev}","raft_term":"2"}`;
});
test.after(async () => s.stop());

const A = 'L3Jlc2VhcmNoL2E=';
const P = '"key":"L3Jlc2VhcmNoLw==","range_end":"L3Jlc2VhcmNoMA=="';

test('put, put with prev_kv, range: exact bytes', async () => {
  await expectOk('/v3/kv/put', `{"key":"${A}","value":"djE="}`, `{"header":${H(2)}}`);
  await expectOk('/v3/kv/put', `{"key":"${A}","value":"djI=","prev_kv":true}`,
    `{"header":${H(3)},"prev_kv":{"key":"${A}","create_revision":"2","mod_revision":"2","version":"1","value":"djE="}}`);
  await expectOk('/v3/kv/put', `{"key":"L3Jlc2VhcmNoL2I=","value":"djE="}`, `{"header":${H(4)}}`);
  await expectOk('/v3/kv/put', `{"key":"L3Jlc2VhcmNoL2M=","value":"djE="}`, `{"header":${H(5)}}`);
  await expectOk('/v3/kv/range', `{"key":"${A}"}`,
    `{"header":${H(5)},"kvs":[{"key":"${A}","create_revision":"2","mod_revision":"3","version":"2","value":"djI="}],"count":"1"}`);
  await expectOk('/v3/kv/range', '{"key":"L3Jlc2VhcmNoL3g="}', `{"header":${H(5)}}`);
});

test('range: prefix, limit, sort + keys_only, numeric enums, count_only, historical, camelCase', async () => {
  const r = JSON.parse((await call('/v3/kv/range', `{${P},"limit":2}`)).text);
  assert.is(r.kvs.length, 2);
  assert.is(r.more, true);
  assert.is(r.count, '3');
  await expectOk('/v3/kv/range', `{${P},"sort_order":"DESCEND","sort_target":"KEY","keys_only":true}`,
    `{"header":${H(5)},"kvs":[{"key":"L3Jlc2VhcmNoL2M=","create_revision":"5","mod_revision":"5","version":"1"},{"key":"L3Jlc2VhcmNoL2I=","create_revision":"4","mod_revision":"4","version":"1"},{"key":"${A}","create_revision":"2","mod_revision":"3","version":"2"}],"count":"3"}`);
  const n = JSON.parse((await call('/v3/kv/range', `{${P},"sort_order":2,"sort_target":3,"keysOnly":true}`)).text);
  assert.equal(n.kvs.map((k: any) => k.mod_revision), ['5', '4', '3']);
  await expectOk('/v3/kv/range', `{${P},"count_only":true}`, `{"header":${H(5)},"count":"3"}`);
  await expectOk('/v3/kv/range', `{"key":"${A}","revision":"2"}`,
    `{"header":${H(5)},"kvs":[{"key":"${A}","create_revision":"2","mod_revision":"2","version":"1","value":"djE="}],"count":"1"}`);
});

test('input errors: exact etcd messages and statuses', async () => {
  await expectErr('/v3/kv/range', '{}', 400, 3, 'etcdserver: key is not provided');
  await expectErr('/v3/kv/range', '{"kee":"x"}', 400, 3, 'etcdserver: key is not provided');
  await expectErr('/v3/kv/range', '{"key":"not base64!"}', 400, 3, 'illegal base64 data at input byte 3');
  await expectErr('/v3/kv/range', '{"key":', 400, 3, 'unexpected EOF');
  await expectErr('/v3/kv/range', `{${P},"sort_order":"BOGUS"}`, 400, 3, 'unknown value "BOGUS" for enum etcdserverpb.RangeRequest_SortOrder');
  await expectErr('/v3/kv/range', `{"key":"${A}","revision":100000}`, 400, 11, 'etcdserver: mvcc: required revision is a future revision');
  await expectErr('/v3/kv/put', '{"key":"L3Jlc2VhcmNoL3g=","ignore_value":true}', 400, 3, 'etcdserver: key not found');
  const r1 = await call('/v3/kv/range', '[1]');
  assert.is(r1.status, 400);
  assert.is(JSON.parse(r1.text).code, 3);
  const r2 = await call('/v3/kv/range', '{"key":12}');
  assert.is(r2.status, 400);
  const bogus = await call('/v3/kv/bogus', '{}');
  assert.is(bogus.status, 404);
  assert.is(bogus.text, 'Not Found\n'); // etcd's body, byte for byte
  const get = await call('/v3/kv/range', '', 'GET');
  assert.is(get.status, 405);
});

test('limits: request too large, body too large, too many txn ops', async () => {
  const big = Buffer.alloc(5000, 1).toString('base64');
  await expectErr('/v3/kv/put', `{"key":"${A}","value":"${big}"}`, 400, 3, 'etcdserver: request is too large');
  const huge = Buffer.alloc(4096 + 600 * 1024).toString('base64');
  const r = await call('/v3/kv/put', `{"key":"${A}","value":"${huge}"}`);
  assert.is(r.status, 429, r.text.slice(0, 300));
  assert.is(JSON.parse(r.text).code, 8);
  assert.match(JSON.parse(r.text).message, 'grpc: received message larger than max');
  const ops = Array.from({ length: 5 }, (_, i) => `{"request_put":{"key":"${Buffer.from('k' + i).toString('base64')}","value":""}}`);
  await expectErr('/v3/kv/txn', `{"success":[${ops.join(',')}]}`, 400, 3, 'etcdserver: too many operations in txn request');
});

test('deleterange and txn: exact bytes', async () => {
  await expectOk('/v3/kv/deleterange', '{"key":"L3Jlc2VhcmNoL2M=","prev_kv":true}',
    `{"header":${H(6)},"deleted":"1","prev_kvs":[{"key":"L3Jlc2VhcmNoL2M=","create_revision":"5","mod_revision":"5","version":"1","value":"djE="}]}`);
  await expectOk('/v3/kv/deleterange', '{"key":"L3Jlc2VhcmNoL2M="}', `{"header":${H(6)}}`);
  await expectOk('/v3/kv/txn',
    `{"compare":[{"key":"${A}","target":"VALUE","result":"EQUAL","value":"djE="}],"success":[{"request_put":{"key":"${A}","value":"djM="}}],"failure":[{"request_range":{"key":"${A}"}}]}`,
    `{"header":${H(6)},"responses":[{"response_range":{"header":{"revision":"6"},"kvs":[{"key":"${A}","create_revision":"2","mod_revision":"3","version":"2","value":"djI="}],"count":"1"}}]}`);
  await expectOk('/v3/kv/txn',
    '{"compare":[{"key":"L3Jlc2VhcmNoL3g=","target":"CREATE","result":"EQUAL","create_revision":"0"}],"success":[{"request_put":{"key":"L3Jlc2VhcmNoL3g=","value":"aGVsbG8="}}]}',
    `{"header":${H(7)},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"7"}}}]}`);
  await expectErr('/v3/kv/txn', `{"success":[{"request_put":{"key":"${A}","value":"djE="}},{"request_put":{"key":"${A}","value":"djI="}}]}`,
    400, 3, 'etcdserver: duplicate key given in txn request');
  await expectOk('/v3/kv/txn', '{}', `{"header":${H(7)},"succeeded":true}`);
  const camel = await call('/v3/kv/txn', `{"compare":[{"target":"CREATE","key":"${A}","createRevision":"2"}],"success":[{"requestRange":{"key":"${A}","keysOnly":true}}]}`);
  assert.is(JSON.parse(camel.text).succeeded, true);
});

test('compaction, then compacted reads; status; health', async () => {
  await expectOk('/v3/kv/compaction', '{"revision":"5"}', `{"header":${H(7)}}`);
  await expectErr('/v3/kv/compaction', '{"revision":"5"}', 400, 11, 'etcdserver: mvcc: required revision has been compacted');
  await expectErr('/v3/kv/compaction', '{"revision":"100000"}', 400, 11, 'etcdserver: mvcc: required revision is a future revision');
  await expectErr('/v3/kv/range', `{"key":"${A}","revision":"4"}`, 400, 11, 'etcdserver: mvcc: required revision has been compacted');
  const st = JSON.parse((await call('/v3/maintenance/status', '{}')).text);
  assert.is(st.header.revision, '7');
  assert.is(st.version, '3.4.23');
  assert.is(st.leader, st.header.member_id);
  assert.is((await fetch(s.url + '/healthz')).status, 200);
  assert.is((await fetch(s.url + '/readyz')).status, 200);
});

test.run();
