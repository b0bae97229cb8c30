/**
 * A watch stream is checked again at each create, as etcd does: once the token it was opened with
 * has expired, the stream's next create is refused (`created` + `canceled`, watch_id -1, the
 * token's error as cancel_reason) while the watch it already holds keeps delivering. Over gRPC
 * side by side with a real etcd 3.4 (simple tokens living 1 s since their last use); over
 * watchkv's WebSocket watch (token in the subprotocol pair) with the same expectations.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { startEtcdTarget, startWatchkvTarget, type Target } from '../support/etcd-pair.ts';
import { until } from '../support/watch-harness.ts';
import { EtcdGrpc } from '../api/grpc/grpc-client.ts';

const TTL_S = 1;
const FLAGS = ['--auth-token-ttl', String(TTL_S)];
const EXPIRED = 'rpc error: code = Unauthenticated desc = etcdserver: invalid auth token';
let etcd: Target;
let wk: Target;
const clients: EtcdGrpc[] = [];

function grpcClient(t: Target): EtcdGrpc {
  const c = new EtcdGrpc(t.url, {}, true);
  clients.push(c);
  return c;
}

async function signIn(c: EtcdGrpc): Promise<string> {
  return (await c.call('Auth', 'Authenticate', { name: 'root', password: 'rootpw' })).token;
}

/** Waits out the token's life without using it (a use would extend a simple token). */
const outlive = (): Promise<void> => new Promise((r) => setTimeout(r, TTL_S * 1000 + 1200));

test.before(async () => {
  [etcd, wk] = await Promise.all([startEtcdTarget(FLAGS), startWatchkvTarget(FLAGS)]);
  for (const t of [etcd, wk]) await grpcClient(t).enableAuth('rootpw');
});

test.after(async () => {
  for (const c of clients) c.close();
  await Promise.all([etcd?.stop(), wk?.stop()]);
});

/** The responses a gRPC Watch stream gets, without headers, keys and values as text. */
async function grpcScenario(t: Target): Promise<string[]> {
  const c = grpcClient(t);
  const md = new grpc.Metadata();
  md.set('token', await signIn(c));
  const call = c.stream('Watch', 'Watch', md);
  const got: string[] = [];
  call.on('data', (m: Record<string, unknown>) => {
    delete m.header;
    got.push(JSON.stringify(m, (_k, v) => (v && typeof v === 'object' && v.type === 'Buffer' ? Buffer.from(v.data).toString() : v)));
  });
  call.on('error', () => undefined); // the cancel at the end; anything earlier shows as a missing answer
  call.write({ create_request: { key: Buffer.from('/exp/a') } });
  await until(() => got.length === 1, 5000, `${t.url}: the first create answered`);
  await outlive();
  call.write({ create_request: { key: Buffer.from('/exp/b') } });
  await until(() => got.length === 2, 5000, `${t.url}: the second create answered`);
  const fresh = new grpc.Metadata();
  fresh.set('token', await signIn(c));
  for (const key of ['/exp/b', '/exp/a']) await c.call('KV', 'Put', { key: Buffer.from(key), value: Buffer.from('v') }, fresh);
  await until(() => got.length === 3, 5000, `${t.url}: the first watch delivered`);
  call.cancel();
  return [...got];
}

test('gRPC: after the token expired, a create on its stream is refused as etcd refuses it; the open watch keeps delivering', async () => {
  const [e, w] = await Promise.all([grpcScenario(etcd), grpcScenario(wk)]);
  assert.equal(w, e);
  assert.equal(JSON.parse(w[1]!), { watch_id: '-1', created: true, canceled: true, cancel_reason: EXPIRED });
  assert.match(w[2]!, '"key":"/exp/a"');
});

test('WebSocket: the same on watchkv\'s WebSocket watch, the token in the subprotocol pair', async () => {
  const token = await signIn(grpcClient(wk));
  const ws = new WebSocket(`${wk.url.replace('http', 'ws')}/v3/watch`, ['Bearer', token]);
  const got: Array<Record<string, any>> = [];
  ws.on('message', (d) => got.push(JSON.parse(d.toString()).result));
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  ws.send(JSON.stringify({ create_request: { key: b64('/ws/a') } }));
  await until(() => got.length === 1, 5000, 'the first create answered');
  assert.ok(got[0]!.created && !got[0]!.canceled, JSON.stringify(got[0]));
  await outlive();
  ws.send(JSON.stringify({ create_request: { key: b64('/ws/b') } }));
  await until(() => got.length === 2, 5000, 'the second create answered');
  assert.equal({ ...got[1], header: undefined }, { header: undefined, watch_id: '-1', created: true, canceled: true, cancel_reason: EXPIRED });
  const c = grpcClient(wk);
  const fresh = new grpc.Metadata();
  fresh.set('token', await signIn(c));
  await c.call('KV', 'Put', { key: Buffer.from('/ws/a'), value: Buffer.from('v') }, fresh);
  await until(() => got.length === 3, 5000, 'the first watch delivered');
  assert.is(Buffer.from(got[2]!.events[0].kv.key, 'base64').toString(), '/ws/a');
  ws.close();
});

test.run();
