/**
 * grpc.health.v1, the probe service, side by side with a real etcd 3.4 (which serves grpc-go's):
 * Check and Watch of the overall service and of an unknown one, through the probe protocol's own
 * definition, and malformed requests (the same status codes). Then what etcd 3.4 does not do: a
 * Watch told NOT_SERVING at shutdown before its call ends.
 * (NOT_SERVING while an upstream node is behind etcd: test/upstream/relist.test.ts.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { pairForSuite } from '../../support/etcd-pair.ts';
import { startTestServer } from '../../support/test-server.ts';
import { until } from '../../support/watch-harness.ts';
import { EtcdGrpc, buf, grpcError, HealthProbe } from './grpc-client.ts';

const pair = pairForSuite(test);
const both = () => [pair.etcd, pair.wk].map((t) => new HealthProbe(t.url));

test('Check: the overall service is SERVING; any other name is NOT_FOUND "unknown service", as etcd', async () => {
  const [e, w] = both();
  try {
    assert.is(await w!.check(''), await e!.check(''));
    assert.is(await w!.check(''), 'SERVING');
    for (const name of ['etcdserverpb.KV', 'nope']) {
      const [ee, we] = await Promise.all([grpcError(e!.check(name)), grpcError(w!.check(name))]);
      assert.equal([we.code, we.details], [ee.code, ee.details]);
      assert.equal([we.code, we.details], [grpc.status.NOT_FOUND, 'unknown service']);
    }
  } finally {
    e!.close();
    w!.close();
  }
});

test('Watch: the status at once, SERVICE_UNKNOWN for an unknown name, the stream stays open until cancelled', async () => {
  const [e, w] = both();
  try {
    for (const name of ['', 'nope']) {
      const [we, ww] = [e!.watch(name), w!.watch(name)];
      await until(() => we.statuses.length > 0 && ww.statuses.length > 0, 10_000, `first status of ${JSON.stringify(name)}`);
      assert.equal(ww.statuses, we.statuses);
      assert.equal(ww.statuses, [name === '' ? 'SERVING' : 'SERVICE_UNKNOWN']);
      assert.is(ww.ended, undefined, 'still open');
      we.cancel();
      ww.cancel();
      await until(() => we.ended !== undefined && ww.ended !== undefined, 10_000, 'cancelled');
      assert.is(ww.ended!.code, grpc.status.CANCELLED);
    }
  } finally {
    e!.close();
    w!.close();
  }
});

test('auth on: probes need no token (etcd asks for none), while KV without one is refused', async () => {
  const srv = await startTestServer({}, { memory: true });
  const c = new EtcdGrpc(srv.url);
  const probe = new HealthProbe(srv.url);
  try {
    await c.enableAuth('pw');
    const refused = await grpcError(c.call('KV', 'Put', { key: buf('k'), value: buf('v') }));
    assert.is(refused.code, grpc.status.INVALID_ARGUMENT, refused.details);
    assert.is(await probe.check(''), 'SERVING');
  } finally {
    probe.close();
    c.close();
    await srv.stop();
  }
});

test('shutdown: a Watch is told NOT_SERVING, then its call ends UNAVAILABLE; an unknown-name Watch ends too', async () => {
  const srv = await startTestServer({}, { memory: true });
  const probe = new HealthProbe(srv.url);
  try {
    const overall = probe.watch('');
    const unknown = probe.watch('nope');
    await until(() => overall.statuses.length > 0 && unknown.statuses.length > 0, 10_000, 'first statuses');
    await srv.stop();
    await until(() => overall.ended !== undefined && unknown.ended !== undefined, 10_000, 'both ended');
    assert.equal(overall.statuses, ['SERVING', 'NOT_SERVING']);
    assert.equal(overall.ended, { code: grpc.status.UNAVAILABLE, details: 'etcdserver: server stopped' });
    assert.equal(unknown.statuses, ['SERVICE_UNKNOWN']);
    assert.is(unknown.ended!.code, grpc.status.UNAVAILABLE);
  } finally {
    probe.close();
  }
});

/** Check with these request bytes, answered as `code` (0 = OK) and the status or error text. */
function rawCheck(url: string, body: Buffer): Promise<[number, string]> {
  const client = new grpc.Client(url.replace(/^http:\/\//, ''), grpc.credentials.createInsecure());
  return new Promise<[number, string]>((resolve) =>
    client.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, body, (e, r) => resolve(e ? [e.code, e.details] : [0, r!.toString('hex')])),
  ).finally(() => client.close());
}

test('malformed requests get the status etcd gives (INTERNAL for a torn field or a name that is not UTF-8); the server goes on serving', async () => {
  const cases = {
    'name longer than the message': '0a644142',
    'truncated varint': '08',
    'lone continuation byte': 'ff',
    'name not UTF-8': '0a02c328',
    'tag 0': '0a016100',
    'a known service name, unknown': '0a0141',
    'empty message': '',
    'empty name': '0a00',
    'unknown varint field': '1005',
  };
  for (const [label, hex] of Object.entries(cases)) {
    const body = Buffer.from(hex, 'hex');
    const [e, w] = await Promise.all([rawCheck(pair.etcd.url, body), rawCheck(pair.wk.url, body)]);
    assert.is(w[0], e[0], `${label}: code (etcd said ${e[1]}, watchkv ${w[1]})`);
    if (e[0] === 0 || e[0] === grpc.status.NOT_FOUND) assert.is(w[1], e[1], `${label}: answer`);
    else assert.is(w[1], 'Error deserializing request', label);
  }
  const probe = new HealthProbe(pair.wk.url);
  assert.is(await probe.check(''), 'SERVING');
  probe.close();
});

test.run();
