/**
 * Malformed request messages to etcd's services, side by side with a real etcd 3.4: a string
 * or bytes field running past the end of the message, a cut varint, tag 0, groups (skipped when
 * closed, refused when left open), a name that is not UTF-8. The status code must be etcd's;
 * where etcd refuses the message (INTERNAL, grpc-go's "error unmarshalling request") watchkv
 * says grpc-js's "Error deserializing request", and where etcd answers, the answer must match.
 * Before src/api/grpc/wire-check.ts, a torn AuthUserAdd created a user under the cut name.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { pairForSuite } from '../../support/etcd-pair.ts';
import { EtcdGrpc } from './grpc-client.ts';

const pair = pairForSuite(test);

/** One unary call with these request bytes: [code, details] or [0, response hex]. */
function rawUnary(url: string, path: string, body: Buffer): Promise<[number, string]> {
  const client = new grpc.Client(url.replace(/^http:\/\//, ''), grpc.credentials.createInsecure());
  return new Promise<[number, string]>((resolve) =>
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, (e, r) => resolve(e ? [e.code, e.details] : [0, r!.toString('hex')])),
  ).finally(() => client.close());
}

const CASES: Array<[string, string, string]> = [
  ['a user name longer than the message', '/etcdserverpb.Auth/UserAdd', '0a0a616263'],
  ['a password longer than the message', '/etcdserverpb.Auth/UserAdd', '0a0162120a7077'],
  ['a role name longer than the message', '/etcdserverpb.Auth/RoleAdd', '0a05726f'],
  ['a user name that is not UTF-8', '/etcdserverpb.Auth/UserGet', '0a02c328'],
  ['a cut varint', '/etcdserverpb.Lease/LeaseGrant', '0880'],
  ['a key longer than the message', '/etcdserverpb.KV/Range', '0a0561'],
  ['tag 0', '/etcdserverpb.Cluster/MemberList', '00'],
  ['a group left open', '/etcdserverpb.Maintenance/Alarm', '4b'],
  ['an end group with no start', '/etcdserverpb.Maintenance/Alarm', '4c'],
  ['a closed group in an unknown field, skipped', '/etcdserverpb.Maintenance/Alarm', '4b08014c'],
  ['wire type 7', '/etcdserverpb.Lease/LeaseLeases', '0f'],
];

test('malformed requests: the status etcd gives; nothing half-read is acted on', async () => {
  for (const [label, path, hex] of CASES) {
    const body = Buffer.from(hex, 'hex');
    const [e, w] = await Promise.all([rawUnary(pair.etcd.url, path, body), rawUnary(pair.wk.url, path, body)]);
    assert.is(w[0], e[0], `${label}: code (etcd said ${e[1]}, watchkv ${w[1]})`);
    if (e[0] === grpc.status.INTERNAL) assert.is(w[1], 'Error deserializing request', label);
    else assert.is(w[1], e[1], `${label}: answer`);
  }
  // No user was created from the torn requests, on either server.
  for (const url of [pair.etcd.url, pair.wk.url]) {
    const c = new EtcdGrpc(url);
    try {
      assert.equal((await c.call('Auth', 'UserList', {})).users, [], url);
    } finally {
      c.close();
    }
  }
});

test.run();
