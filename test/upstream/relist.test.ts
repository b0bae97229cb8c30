/**
 * Upstream compaction past a node: a watchkv node whose only etcd member goes down while the
 * others write and compact. Meanwhile /readyz says not-ready (disconnected). When the member
 * comes back the node's watch from its last revision + 1 is compacted, so it relists: its
 * mirror equals etcd's range again, a watcher whose next revision was compacted is ended with
 * compact_revision (as etcd ends it: no silent gap), a new watcher goes on live, and /readyz is
 * ready again. The gRPC health service (Check and Watch) follows the same readiness.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer } from '../../src/server.ts';
import { EtcdGrpc, HealthProbe, openGrpcWatch } from '../api/grpc/grpc-client.ts';
import { until } from '../support/watch-harness.ts';
import { EtcdCluster } from '../../scripts/etcd-cluster.ts';

test('a node behind an upstream compaction relists, ends overtaken watchers with compact_revision, and is ready again', async () => {
  const cluster = await EtcdCluster.start(3);
  let node: Awaited<ReturnType<typeof startServer>> | undefined;
  const closers: Array<() => void> = [];
  try {
    let only = await cluster.waitLeader();
    only = (only + 1) % 3; // a follower: killing it keeps the cluster writable without an election
    const others = [0, 1, 2].filter((i) => i !== only).map((i) => new EtcdGrpc(cluster.endpoints()[i]!));
    closers.push(() => others.forEach((c) => c.close()));
    const put = (k: string, v: string) => others[0]!.call('KV', 'Put', { key: Buffer.from(k), value: Buffer.from(v) });
    for (let i = 0; i < 5; i++) await put(`/r/k${i}`, `a${i}`);
    node = await startServer({ listenClientUrls: 'http://127.0.0.1:0', logLevel: 'silent', upstreamEndpoints: [cluster.endpoints()[only]!] });
    const url = node.address;
    assert.is((await fetch(`${url}/readyz`)).status, 200);
    // A gRPC health probe (Kubernetes, load balancers) reads the same readiness as /readyz.
    const probe = new HealthProbe(url);
    closers.push(() => probe.close());
    assert.is(await probe.check(), 'SERVING');
    const healthWatch = probe.watch();
    closers.push(healthWatch.cancel);
    const old = openGrpcWatch(url, { key: Buffer.from('/r/'), range_end: Buffer.from('/r0'), prev_kv: true });
    closers.push(old.close);
    await until(() => old.responses.length > 0, 30_000, 'created');
    const seenRev = node.store.currentRevision();

    // The node's only member goes down; the cluster writes on, deletes a key, and compacts.
    await cluster.kill(only);
    for (let i = 0; i < 20; i++) await put(`/r/k${i % 7}`, `b${i}`);
    await others[0]!.call('KV', 'DeleteRange', { key: Buffer.from('/r/k1') });
    const head = Number((await put('/r/last', 'z')).header.revision);
    await others[0]!.call('KV', 'Compact', { revision: String(head), physical: true });
    await until(async () => (await fetch(`${url}/readyz`)).status === 503, 30_000, 'not ready while disconnected');
    const body = (await (await fetch(`${url}/readyz`)).json()) as { reason: string };
    assert.match(body.reason, 'upstream');
    assert.is(await probe.check(), 'NOT_SERVING');
    await until(() => healthWatch.statuses.length >= 2, 10_000, 'the health Watch told of not ready');

    // It comes back: the node's resume is compacted, so it relists at etcd's revision.
    await cluster.restart(only);
    await until(() => node!.store.currentRevision() >= head, 30_000, 'the relist');
    await until(async () => (await fetch(`${url}/readyz`)).status === 200, 30_000, 'ready again');
    assert.is(await probe.check(), 'SERVING');
    await until(() => healthWatch.statuses.length >= 3, 10_000, 'the health Watch told of ready again');
    assert.equal(healthWatch.statuses, ['SERVING', 'NOT_SERVING', 'SERVING']);
    const mirror: any = await (await fetch(`${url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/r/').toString('base64'), range_end: Buffer.from('/r0').toString('base64'), serializable: true }) })).json();
    const truth = await others[0]!.call('KV', 'Range', { key: Buffer.from('/r/'), range_end: Buffer.from('/r0') });
    const fmt = (kvs: any[], dec: (b: any) => string) => kvs.map((kv) => `${dec(kv.key)}=${dec(kv.value)}@${kv.mod_revision}`);
    assert.equal(fmt(mirror.kvs, (s: string) => Buffer.from(s, 'base64').toString()), fmt(truth.kvs, (b: Buffer) => b.toString()));

    // The watcher that was live at seenRev cannot be served seenRev+1..head: it is ended.
    await until(() => old.responses.some((r) => r.canceled), 30_000, 'the compacted cancel');
    const cancel = old.responses.find((r) => r.canceled)!;
    assert.is(cancel.compactRevision, head);
    assert.ok(seenRev + 1 < head);
    assert.equal(old.responses.flatMap((r) => r.events), [], 'no event past the gap was delivered');

    // A new watcher goes on live from the relisted revision.
    const fresh = openGrpcWatch(url, { key: Buffer.from('/r/'), range_end: Buffer.from('/r0') });
    closers.push(fresh.close);
    await until(() => fresh.responses.length > 0, 30_000, 'created');
    const after = Number((await put('/r/after', '1')).header.revision);
    await until(() => fresh.responses.some((r) => r.events.some((e) => e.kv.modRevision === after)), 30_000, 'the live event');
    const m = await (await fetch(`${url}/metrics`)).text();
    assert.match(m, /watchkv_upstream_connected 1/);
  } finally {
    for (const c of closers) c();
    await node?.close();
    await cluster.stop();
  }
});

test.run();
