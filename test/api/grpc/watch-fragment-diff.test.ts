/**
 * Fragmented watch responses split where etcd 3.4 splits them. etcd cuts at its request limit
 * plus gRPC's 512 KiB allowance, counting protobuf bytes (sendFragments); with
 * `--max-request-bytes 20000` a catch-up over 40 revisions of ~18 KB values crosses that limit
 * once without prev_kv and twice with it. The same writes and watch go to a real etcd and to
 * watchkv: the responses (fragment flag, event count, first revision) must be the same.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startEtcdTarget, startWatchkvTarget, type Target } from '../../support/etcd-pair.ts';
import { until } from '../../support/watch-harness.ts';
import { EtcdGrpc } from './grpc-client.ts';

const FLAGS = ['--max-request-bytes', '20000'];
const REVISIONS = 40;
const k = (s: string): Buffer => Buffer.from(s);
let etcd: Target;
let wk: Target;
const clients: EtcdGrpc[] = [];

test.before(async () => {
  [etcd, wk] = await Promise.all([startEtcdTarget(FLAGS), startWatchkvTarget(FLAGS)]);
  for (const t of [etcd, wk]) {
    const c = new EtcdGrpc(t.url, {}, true);
    clients.push(c);
    // Values of different sizes over 7 keys, so prev_kv sizes vary too.
    for (let i = 0; i < REVISIONS; i++) await c.call('KV', 'Put', { key: k(`c/${i % 7}`), value: Buffer.alloc(18_000 + i * 37, 'v') });
  }
});

test.after(async () => {
  for (const c of clients) c.close();
  await Promise.all([etcd?.stop(), wk?.stop()]);
});

/** The responses to one catch-up watch with `fragment`, until its last event has come. */
async function catchUp(t: Target, prevKv: boolean): Promise<string[]> {
  const c = clients[t === etcd ? 0 : 1]!;
  const call = c.stream('Watch', 'Watch');
  const got: string[] = [];
  let events = 0;
  call.on('data', (m: { fragment?: boolean; created?: boolean; events?: Array<{ kv: { mod_revision: string } }> }) => {
    events += m.events?.length ?? 0;
    got.push(`created=${!!m.created} fragment=${!!m.fragment} events=${m.events?.length ?? 0} from=${m.events?.[0]?.kv.mod_revision ?? '-'}`);
  });
  call.on('error', () => undefined); // the cancel below
  call.write({ create_request: { key: k('c/'), range_end: k('c0'), start_revision: 2, fragment: true, prev_kv: prevKv } });
  await until(() => events === REVISIONS, 10_000, `${t.url}: all ${REVISIONS} events`);
  call.cancel();
  return got;
}

for (const prevKv of [false, true]) {
  test(`a catch-up over the limit, prev_kv ${prevKv}: the same parts as etcd`, async () => {
    const [e, w] = await Promise.all([catchUp(etcd, prevKv), catchUp(wk, prevKv)]);
    assert.equal(w, e);
    assert.ok(e.filter((r) => r.includes('fragment=true')).length === (prevKv ? 2 : 1), e.join('\n'));
  });
}

test.run();
