/**
 * The hand-written protobuf encoders against protobufjs (through etcd's own .proto files): what
 * encode-kv.ts / encode-watch.ts write must decode to the same values, int64 edge cases included
 * (negative watch ids, lease ids above 2^53, zero fields omitted, empty messages present).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Event, KeyValue } from '../../../src/mvcc/kv.ts';
import { serviceDefinition } from '../../../src/api/grpc/proto.ts';
import { encodeRangeResponse, encodeTxnResponse } from '../../../src/api/grpc/encode-kv.ts';
import { encodeWatchMessage, encodeWatchResponse } from '../../../src/api/grpc/encode-watch.ts';
import { Rng } from '../../support/rng.ts';
import { encodeGrpcMessage } from '../../../src/api/grpc/grpc-wire.ts';

const id = { clusterId: '18446744073709551615', memberId: '9007199254740993', raftTerm: '2' };
const decodeRange = (b: Buffer): any => serviceDefinition('KV').Range!.responseDeserialize(b);
const decodeTxn = (b: Buffer): any => serviceDefinition('KV').Txn!.responseDeserialize(b);
const decodeWatch = (b: Buffer): any => serviceDefinition('Watch').Watch!.responseDeserialize(b);

function kv(rng: Rng, i: number): KeyValue {
  const big = rng.chance(0.5);
  return {
    key: Buffer.from(`k${i}`),
    value: Buffer.from(rng.chance(0.2) ? '' : 'v'.repeat(rng.int(1, 300))),
    createRevision: rng.int(1, 1000),
    modRevision: big ? 2 ** 40 + i : rng.int(1, 1000),
    version: rng.int(0, 5),
    lease: big ? 2n ** 63n - 1n - BigInt(i) : BigInt(rng.int(0, 3)),
  };
}

function expectKv(got: any, want: KeyValue): void {
  assert.ok(got.key.equals(want.key));
  assert.ok(got.value.equals(want.value));
  assert.is(got.create_revision, String(want.createRevision));
  assert.is(got.mod_revision, String(want.modRevision));
  assert.is(got.version, String(want.version));
  assert.is(got.lease, String(want.lease));
}

test('RangeResponse: random kvs decode to the same values; header ids above 2^53 survive', () => {
  const rng = new Rng(7);
  for (let round = 0; round < 50; round++) {
    const kvs = Array.from({ length: rng.int(0, 20) }, (_, i) => kv(rng, i));
    const r = { revision: rng.int(1, 2 ** 45), kvs, count: kvs.length + rng.int(0, 3), more: rng.chance(0.5) };
    const got = decodeRange(encodeRangeResponse(id, r));
    assert.equal(got.header, { cluster_id: id.clusterId, member_id: id.memberId, revision: String(r.revision), raft_term: '2' });
    assert.is(got.kvs.length, kvs.length);
    kvs.forEach((k, i) => expectKv(got.kvs[i], k));
    assert.is(got.more, r.more);
    assert.is(got.count, String(r.count));
  }
});

test('TxnResponse: nested responses, inner headers with only the revision', () => {
  const rng = new Rng(9);
  const inner = { revision: 5, kvs: [kv(rng, 1)], count: 1, more: false };
  const r = { revision: 6, succeeded: true, responses: [{ range: inner }, { put: { revision: 6 } }, { txn: { revision: 6, succeeded: false, responses: [] } }] };
  const got = decodeTxn(encodeTxnResponse(id, r));
  assert.is(got.succeeded, true);
  assert.is(got.responses[0].response_range.header.revision, '5');
  assert.is(got.responses[0].response_range.header.cluster_id, '0');
  assert.is(got.responses[1].response_put.header.revision, '6');
  assert.ok(got.responses[2].response_txn, 'an empty nested txn is still present');
  assert.is(got.responses[2].response_txn.succeeded, false);
});

test('WatchResponse: negative watch id, cancel reason, compact revision, events with and without prev_kv', () => {
  const rng = new Rng(11);
  const cur = kv(rng, 1);
  const prev = kv(rng, 2);
  const events: Event[] = [{ type: 'PUT', kv: cur, prevKv: prev }, { type: 'DELETE', kv: { ...cur, value: Buffer.alloc(0), version: 0, createRevision: 0, lease: 0n } }];
  const plain = decodeWatch(encodeWatchResponse(id, { watchId: 3, revision: 9, events, withPrevKv: false }));
  assert.is(plain.events.length, 2);
  assert.is(plain.events[0].prev_kv, null);
  assert.is(plain.events[1].type, 'DELETE');
  const withPrev = decodeWatch(encodeWatchResponse(id, { watchId: 3, revision: 9, events, withPrevKv: true }));
  expectKv(withPrev.events[0].prev_kv, prev);
  const ctl = decodeWatch(encodeWatchResponse(id, { watchId: -1, revision: 0, created: true, canceled: true, cancelReason: 'mvcc: é', compactRevision: 2 ** 33, events: [], withPrevKv: false }));
  assert.is(ctl.watch_id, '-1');
  assert.is(ctl.cancel_reason, 'mvcc: é');
  assert.is(ctl.compact_revision, String(2 ** 33));
  assert.is(ctl.header.revision, '0');
});

test('a WatchResponse as a direct-path message: prefix and fields, then the events shared by list', () => {
  const rng = new Rng(12);
  const events: Event[] = [{ type: 'PUT', kv: kv(rng, 1) }, { type: 'PUT', kv: kv(rng, 2) }];
  for (const r of [
    { watchId: 4, revision: 9, events, withPrevKv: false },
    { watchId: 5, revision: 9, events, withPrevKv: false },
    { watchId: 6, revision: 9, events: [], withPrevKv: false },
  ]) {
    const m = encodeWatchMessage(id, r);
    const whole = m.events ? Buffer.concat([m.head, m.events]) : m.head;
    assert.is(whole[0], 0, 'not compressed');
    assert.is(whole.readUInt32BE(1), whole.length - 5, 'the prefix counts both pieces');
    assert.equal(whole.subarray(5), encodeWatchResponse(id, r), 'the same bytes as through grpc-js');
  }
  // Two watchers of one batch (one list object): its events are encoded once and shared.
  assert.ok(encodeWatchMessage(id, { watchId: 1, revision: 9, events, withPrevKv: false }).events === encodeWatchMessage(id, { watchId: 2, revision: 9, events, withPrevKv: false }).events);
});

test('grpc-message as grpc-go encodes it: printable ASCII as is (spaces too), % and other bytes as %XX', () => {
  assert.is(encodeGrpcMessage('etcdserver: key is not provided'), 'etcdserver: key is not provided');
  assert.is(encodeGrpcMessage('é 100%\n'), '%C3%A9 100%25%0A');
});

test.run();
