/** The gateway JSON codec: decoding rules (names, ints, base64, enums) and default-omitting output. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as json from '../../src/api/json.ts';
import { isKvError } from '../../src/errors.ts';
import { mapError, streamErrorBody } from '../../src/api/error-map.ts';
import { JsonSplitter } from '../../src/api/json-splitter.ts';
import type { Event } from '../../src/mvcc/kv.ts';

const id = { clusterId: '1', memberId: '2', raftTerm: '2' };

function rejects(f: () => unknown, message: string): void {
  try {
    f();
  } catch (err) {
    assert.ok(isKvError(err, 'ERR_INVALID_ARGUMENT'), String(err));
    assert.is((err as Error).message, message);
    return;
  }
  assert.unreachable(`expected rejection: ${message}`);
}

test('range: snake and camel case, ints as numbers or strings, enums by name or number', () => {
  const a = json.decodeRange({ key: 'YQ==', range_end: 'Yg==', limit: '3', sort_order: 2, sort_target: 'MOD', keys_only: true, revision: 7 });
  const b = json.decodeRange({ key: 'YQ==', rangeEnd: 'Yg==', limit: 3, sortOrder: 'DESCEND', sortTarget: 3, keysOnly: true, revision: '7', bogus: 1 });
  assert.equal(a, b);
  assert.is(a.sortOrder, 'DESCEND');
  assert.is(a.sortTarget, 'MOD');
  assert.is(a.limit, 3);
  assert.is(a.key.toString(), 'a');
});

test('strict base64, bad ints, bad enums, bad types', () => {
  rejects(() => json.decodeRange({ key: 'not base64!' }), 'illegal base64 data at input byte 3');
  rejects(() => json.decodeRange({ key: '@@@' }), 'illegal base64 data at input byte 0');
  rejects(() => json.decodeRange({ key: 'YQ=' }), 'illegal base64 data at input byte 0');
  rejects(() => json.decodeRange({ key: 'YQ==', revision: 'x' }), "invalid character 'x' looking for beginning of value");
  rejects(() => json.decodeRange({ key: 'YQ==', sort_order: 'BOGUS' }), 'unknown value "BOGUS" for enum etcdserverpb.RangeRequest_SortOrder');
  rejects(() => json.decodeRange({ key: 'YQ==', keys_only: 'yes' }), 'json: cannot unmarshal string into Go value of type bool');
  rejects(() => json.parseJsonObject('{"key":'), 'unexpected EOF');
  rejects(() => json.parseJsonObject('[1]'), 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage');
  assert.equal(json.parseJsonObject(''), {});
});

test('numbers kept exact: int64 above 2^53 as a JSON number, floats named as Go names them, strings untouched', async () => {
  const { readBigInt, parseJson } = await import('../../src/api/json-read.ts');
  assert.is(readBigInt(json.parseJsonObject('{"ID":7587899079811380637}'), 'ID'), 7587899079811380637n);
  assert.is(readBigInt(json.parseJsonObject('{"ID":-9223372036854775808}'), 'ID'), -(2n ** 63n));
  rejects(() => json.decodeRange(json.parseJsonObject('{"key":"YQ==","limit":1.0}')), 'json: cannot unmarshal number 1.0 into Go value of type int64');
  rejects(() => json.decodeRange(json.parseJsonObject('{"key":"YQ==","limit":2E3}')), 'json: cannot unmarshal number 2E3 into Go value of type int64');
  rejects(() => json.decodeRange(json.parseJsonObject('{"key":"YQ==","keys_only":1.5}')), 'json: cannot unmarshal number into Go value of type bool');
  const r = parseJson('{"a":"x:1.5, [2e3","b":[1,2.5e1],"c":1}') as any;
  assert.equal([r.a, r.b[0], r.b[1].text, r.c], ['x:1.5, [2e3', 1, '2.5e1', 1]);
  assert.throws(() => parseJson('{"a":1.}'));
  assert.equal(json.parseJsonObject('null'), {});
});

test('watch create: empty key means "\\0"; range_end is passed on as etcd sent it ("\\0" = to the end)', () => {
  const r = json.decodeWatchRequest({ create_request: { range_end: 'AA==', filters: ['NODELETE', 0], watch_id: '-5' } });
  assert.ok('create' in r);
  if (!('create' in r)) return;
  assert.equal([...r.create.key], [0]);
  assert.equal([...r.create.rangeEnd!], [0], 'normalised later, by mvcc/key-range.ts');
  assert.is(r.create.noDelete, true);
  assert.is(r.create.noPut, true);
  assert.is(r.create.watchId, -5);
  assert.equal(json.decodeWatchRequest({ cancel_request: { watch_id: '4' } }), { cancel: 4 });
  assert.equal(json.decodeWatchRequest({ progress_request: {} }), { progress: true });
  rejects(() => json.decodeWatchRequest({ nope: {} }), 'watch request has no create_request, cancel_request or progress_request');
});

test('output omits defaults; PUT events have no type; events are memoised per variant', () => {
  const kv = { key: Buffer.from('a'), value: Buffer.from('v'), createRevision: 2, modRevision: 3, version: 2, lease: 0n };
  const prev = { ...kv, modRevision: 2, version: 1 };
  const put: Event = { type: 'PUT', kv, prevKv: prev };
  const del: Event = { type: 'DELETE', kv: { key: Buffer.from('a'), value: Buffer.alloc(0), createRevision: 0, modRevision: 4, version: 0, lease: 0n } };
  assert.is(json.encodeEvent(put, false), '{"kv":{"key":"YQ==","create_revision":"2","mod_revision":"3","version":"2","value":"dg=="}}');
  assert.is(json.encodeEvent(put, true), '{"kv":{"key":"YQ==","create_revision":"2","mod_revision":"3","version":"2","value":"dg=="},"prev_kv":{"key":"YQ==","create_revision":"2","mod_revision":"2","version":"1","value":"dg=="}}');
  assert.is(json.encodeEvent(put, false), json.encodeEvent(put, false));
  assert.is(json.encodeEvent(del, true), '{"type":"DELETE","kv":{"key":"YQ==","mod_revision":"4"}}');
  assert.is(json.encodeWatchFrame(id, { watchId: 0, revision: 1, created: true, events: [], withPrevKv: false }),
    '{"result":{"header":{"cluster_id":"1","member_id":"2","revision":"1","raft_term":"2"},"created":true}}');
  assert.is(json.encodeWatchFrame(id, { watchId: 10, revision: 0, canceled: true, compactRevision: 6, events: [], withPrevKv: false }),
    '{"result":{"header":{"cluster_id":"1","member_id":"2","raft_term":"2"},"watch_id":"10","canceled":true,"compact_revision":"6"}}');
  assert.is(json.encodeRange(id, { revision: 5, kvs: [], count: 0, more: false }), '{"header":{"cluster_id":"1","member_id":"2","revision":"5","raft_term":"2"}}');
});

test('error map: statuses and gRPC codes as etcd', () => {
  const m = mapError(new Error('boom'));
  assert.is(m.httpStatus, 500);
  assert.is(m.unexpected, true);
  try {
    json.decodeRange({ key: '!' });
  } catch (err) {
    const e = mapError(err);
    assert.equal([e.httpStatus, e.grpcCode], [400, 3]);
    assert.is(streamErrorBody(e), '{"error":{"grpc_code":3,"http_code":400,"message":"illegal base64 data at input byte 0","http_status":"Bad Request"}}');
  }
  const big = mapError(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }), 10);
  assert.equal([big.httpStatus, big.grpcCode], [429, 8]);
});

test('splitter: concatenated objects across chunk boundaries, braces in strings, garbage', () => {
  const sp = new JsonSplitter(1000);
  const out = [...sp.push('{"a":"}{"}{"b'), ...sp.push('":[{}]}\n  {"c":1'), ...sp.push('}')];
  assert.equal(out, [{ text: '{"a":"}{"}' }, { text: '{"b":[{}]}' }, { text: '{"c":1}' }]);
  assert.equal(new JsonSplitter(1000).push('x{}'), [{ error: "invalid character 'x' looking for beginning of value" }]);
  const small = new JsonSplitter(10);
  assert.ok('error' in small.push('{"aaaaaaaaaaaaaaa')[0]!);
});

test.run();
