/**
 * gRPC's direct unary path (src/api/grpc/fast-unary.ts), driven by a bare HTTP/2 client as the
 * simplest gRPC clients are: it is in place, serves Put/Range/DeleteRange/Txn, and answers what
 * grpc-js would — a message too large, a compressed flag without an encoding, a malformed
 * deadline, a deadline that passes, an empty body, and a wrong token when auth is on. Calls it
 * does not take (another method, a compressed request) still reach grpc-js.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http2 from 'node:http2';
import { status } from '@grpc/grpc-js';
import { startTestServer, type TestServer } from '../../support/test-server.ts';
import { ProtobufWriter } from '../../../src/lib/protobuf-writer.ts';
import { EtcdGrpc, buf, grpcError, grpcFrame } from './grpc-client.ts';

let srv: TestServer;
let session: http2.ClientHttp2Session;

test.before(async () => {
  srv = await startTestServer({ maxRequestBytes: 64 * 1024 }, { memory: true });
  session = http2.connect(srv.url);
});
test.after(async () => {
  session.close();
  await srv.stop();
});

interface Answer {
  status: number;
  message: string;
  body: Buffer;
}

const frame = grpcFrame;

function call(path: string, body: Buffer, extra: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    const chunks: Buffer[] = [];
    let st = -1;
    let message = '';
    const take = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] === undefined) return;
      st = Number(h['grpc-status']);
      message = decodeURI(String(h['grpc-message'] ?? ''));
    };
    s.on('response', take);
    s.on('trailers', take);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('end', () => resolve({ status: st, message, body: Buffer.concat(chunks) }));
    s.end(body);
  });
}

const put = (key: string, value: string | Buffer): Buffer => new ProtobufWriter().bytes(1, Buffer.from(key)).bytes(2, Buffer.isBuffer(value) ? value : Buffer.from(value)).finish();

test('Put, Range, DeleteRange and Txn are served directly, with the same answers', async () => {
  assert.ok(srv.server.grpcDirect.attached, 'the direct path found grpc-js HTTP/2 server');
  const before = srv.server.grpcDirect.served.count;
  const p = await call('/etcdserverpb.KV/Put', frame(put('d/a', 'one')));
  assert.is(p.status, 0);
  assert.is(p.body.readUInt32BE(1), p.body.length - 5, 'one length-prefixed message');
  const c = new EtcdGrpc(srv.url);
  try {
    const r = await c.call('KV', 'Range', { key: buf('d/a') });
    assert.is(r.kvs[0].value.toString(), 'one');
    const t = await c.call('KV', 'Txn', { compare: [], success: [{ request_put: { key: buf('d/b'), value: buf('two') } }], failure: [] });
    assert.is(t.succeeded, true);
    const d = await c.call('KV', 'DeleteRange', { key: buf('d/'), range_end: buf('d0') });
    assert.is(d.deleted, '2');
  } finally {
    c.close();
  }
  assert.is(srv.server.grpcDirect.served.count - before, 4);
});

test('the other unary methods are served directly too: Lease, Maintenance, Cluster, KV Compact', async () => {
  const before = srv.server.grpcDirect.served.count;
  const c = new EtcdGrpc(srv.url);
  try {
    const g = await c.call('Lease', 'LeaseGrant', { TTL: 60 });
    assert.is(g.TTL, '60');
    const t = await c.call('Lease', 'LeaseTimeToLive', { ID: g.ID });
    assert.is(t.grantedTTL, '60');
    const missing = await grpcError(c.call('Lease', 'LeaseRevoke', { ID: '12345' }));
    assert.equal([missing.code, missing.details], [status.NOT_FOUND, 'etcdserver: requested lease not found']);
    const st = await c.call('Maintenance', 'Status', {});
    assert.is(st.version, '3.4.23');
    const members = await c.call('Cluster', 'MemberList', {});
    assert.is(members.members.length, 1);
    await c.call('KV', 'Compact', { revision: '0' }).catch(() => undefined);
  } finally {
    c.close();
  }
  assert.is(srv.server.grpcDirect.served.count - before, 6);
});

test('errors as grpc-js and grpc-go answer them', async () => {
  const bigMsg = put('d/big', Buffer.alloc(700 * 1024));
  const big = await call('/etcdserverpb.KV/Put', frame(bigMsg));
  assert.is(big.status, status.RESOURCE_EXHAUSTED);
  // grpc-go's (so etcd's) words, with the declared length and the limit (--max-request-bytes + 512 KiB).
  assert.is(big.message, `grpc: received message larger than max (${bigMsg.length} vs. ${64 * 1024 + 512 * 1024})`);
  const tooBigForEtcd = await call('/etcdserverpb.KV/Put', frame(put('d/big', Buffer.alloc(100 * 1024))));
  assert.is(tooBigForEtcd.status, status.INVALID_ARGUMENT);
  assert.is(tooBigForEtcd.message, 'etcdserver: request is too large');
  const flagged = await call('/etcdserverpb.KV/Put', frame(put('d/x', '1'), 1));
  assert.is(flagged.status, status.INTERNAL, 'compressed flag without an encoding: grpc-go (etcd) refuses it');
  const empty = await call('/etcdserverpb.KV/Put', Buffer.alloc(0));
  assert.is(empty.status, status.UNIMPLEMENTED, 'no request message: grpc-js answers so');
  const two = await call('/etcdserverpb.KV/Put', Buffer.concat([frame(put('d/x', '1')), frame(put('d/y', '2'))]));
  assert.is(two.status, status.UNIMPLEMENTED, 'a second request message: grpc-js answers so');
  const badDeadline = await call('/etcdserverpb.KV/Put', frame(put('d/x', '1')), { 'grpc-timeout': 'soon' });
  assert.is(badDeadline.status, status.INTERNAL);
  assert.match(badDeadline.message, /grpc-timeout/);
  const noKey = await call('/etcdserverpb.KV/Put', frame(put('', '1')));
  assert.is(noKey.status, status.INVALID_ARGUMENT);
  assert.is(noKey.message, 'etcdserver: key is not provided');
  const garbage = await call('/etcdserverpb.KV/Range', frame(Buffer.from([0xff, 0xff, 0xff])));
  assert.is(garbage.status, status.INTERNAL);
  assert.is(garbage.message, 'Error deserializing request');
});

test('a deadline that passes before the answer: DEADLINE_EXCEEDED', async () => {
  // A request whose body never ends cannot be answered; the deadline must end it.
  const s = session.request({ ':method': 'POST', ':path': '/etcdserverpb.KV/Range', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '50m' });
  s.write(frame(new ProtobufWriter().bytes(1, Buffer.from('d/a')).finish()));
  const st = await new Promise<number>((resolve) => {
    s.on('response', (h) => h['grpc-status'] !== undefined && resolve(Number(h['grpc-status'])));
    s.on('trailers', (h) => resolve(Number(h['grpc-status'])));
  });
  s.close();
  assert.is(st, status.DEADLINE_EXCEEDED);
});

test('calls the direct path does not take reach grpc-js', async () => {
  const before = srv.server.grpcDirect.served.count;
  const check = await call('/grpc.health.v1.Health/Check', frame(Buffer.alloc(0)));
  assert.is(check.status, 0, 'health Check (not a unary.ts handler) through grpc-js');
  const br = await call('/etcdserverpb.KV/Range', frame(Buffer.alloc(0)), { 'grpc-encoding': 'br' });
  assert.is(br.message, 'etcdserver: key is not provided', 'a request with an encoding: grpc-js reads it');
  const unknown = await call('/etcdserverpb.KV/Nope', frame(Buffer.alloc(0)));
  assert.is(unknown.status, status.UNIMPLEMENTED);
  assert.is(srv.server.grpcDirect.served.count, before);
});

test('auth on: the token header decides, as grpc-js metadata does', async () => {
  const a = await startTestServer({}, { memory: true });
  const s2 = http2.connect(a.url);
  const c = new EtcdGrpc(a.url);
  try {
    await c.enableAuth('pw');
    const tok = (await c.call('Auth', 'Authenticate', { name: 'root', password: 'pw' })).token as string;
    const req = (token?: string): Promise<Answer> =>
      new Promise((resolve, reject) => {
        const s = s2.request({ ':method': 'POST', ':path': '/etcdserverpb.KV/Put', 'content-type': 'application/grpc', te: 'trailers', ...(token ? { token } : {}) });
        let st = -1;
        let message = '';
        const take = (h: http2.IncomingHttpHeaders): void => {
          if (h['grpc-status'] !== undefined) [st, message] = [Number(h['grpc-status']), decodeURI(String(h['grpc-message'] ?? ''))];
        };
        s.on('response', take);
        s.on('trailers', take);
        s.on('data', () => {});
        s.on('error', reject);
        s.on('end', () => resolve({ status: st, message, body: Buffer.alloc(0) }));
        s.end(frame(put('k', 'v')));
      });
    assert.is((await req(tok)).status, 0);
    const bad = await req('not-a-token');
    assert.is(bad.status, status.UNAUTHENTICATED);
    assert.is(bad.message, 'etcdserver: invalid auth token');
    const none = await req();
    assert.is(none.status, status.INVALID_ARGUMENT);
    assert.is(none.message, 'etcdserver: user name is empty');
  } finally {
    c.close();
    s2.close();
    await a.stop();
  }
});

test.run();
