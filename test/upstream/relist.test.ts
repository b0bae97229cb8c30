/**
 * Upstream compaction past a node: a watchkv node whose only etcd member goes down while the
 * others write and compact. Meanwhile /readyz says not-ready (disconnected). When the member
 * comes back the node's watch from its last revision + 1 is compacted, so it relists: its
 * mirror equals etcd's range again, a watcher whose next revision was compacted is ended with
 * compact_revision (as etcd ends it: no silent gap), a new watcher goes on live, and /readyz is
 * ready again.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer } from '../../src/server.ts';
import { EtcdGrpc, toWatchResponse } from '../api/grpc/grpc-client.ts';
import type { WatchResponse } from '../../src/watch/watch-api.ts';
import { EtcdCluster } from '../../scripts/etcd-cluster.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function watch(url: string, create: object): { responses: WatchResponse[]; close(): void } {
  const client = new EtcdGrpc(url);
  const call = client.stream('Watch', 'Watch');
  const responses: WatchResponse[] = [];
  call.on('data', (m: any) => responses.push(toWatchResponse(m, true)));
  call.on('error', () => undefined);
  call.write({ create_request: create });
  return { responses, close: () => (call.cancel(), client.close()) };
}

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
    const old = watch(url, { key: Buffer.from('/r/'), range_end: Buffer.from('/r0'), prev_kv: true });
    closers.push(old.close);
    await until('created', () => old.responses.length > 0);
    const seenRev = node.store.currentRevision();

    // The node's only member goes down; the cluster writes on, deletes a key, and compacts.
    await cluster.kill(only);
    for (let i = 0; i < 20; i++) await put(`/r/k${i % 7}`, `b${i}`);
    await others[0]!.call('KV', 'DeleteRange', { key: Buffer.from('/r/k1') });
    const head = Number((await put('/r/last', 'z')).header.revision);
    await others[0]!.call('KV', 'Compact', { revision: String(head), physical: true });
    await until('not ready while disconnected', async () => (await fetch(`${url}/readyz`)).status === 503);
    const body = (await (await fetch(`${url}/readyz`)).json()) as { reason: string };
    assert.match(body.reason, 'upstream');

    // It comes back: the node's resume is compacted, so it relists at etcd's revision.
    await cluster.restart(only);
    await until('the relist', () => node!.store.currentRevision() >= head, 30_000);
    await until('ready again', async () => (await fetch(`${url}/readyz`)).status === 200);
    const mirror: any = await (await fetch(`${url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/r/').toString('base64'), range_end: Buffer.from('/r0').toString('base64'), serializable: true }) })).json();
    const truth = await others[0]!.call('KV', 'Range', { key: Buffer.from('/r/'), range_end: Buffer.from('/r0') });
    const fmt = (kvs: any[], dec: (b: any) => string) => kvs.map((kv) => `${dec(kv.key)}=${dec(kv.value)}@${kv.mod_revision}`);
    assert.equal(fmt(mirror.kvs, (s: string) => Buffer.from(s, 'base64').toString()), fmt(truth.kvs, (b: Buffer) => b.toString()));

    // The watcher that was live at seenRev cannot be served seenRev+1..head: it is ended.
    await until('the compacted cancel', () => old.responses.some((r) => r.canceled));
    const cancel = old.responses.find((r) => r.canceled)!;
    assert.is(cancel.compactRevision, head);
    assert.ok(seenRev + 1 < head);
    assert.equal(old.responses.flatMap((r) => r.events), [], 'no event past the gap was delivered');

    // A new watcher goes on live from the relisted revision.
    const fresh = watch(url, { key: Buffer.from('/r/'), range_end: Buffer.from('/r0') });
    closers.push(fresh.close);
    await until('created', () => fresh.responses.length > 0);
    const after = Number((await put('/r/after', '1')).header.revision);
    await until('the live event', () => fresh.responses.some((r) => r.events.some((e) => e.kv.modRevision === after)));
    const m = await (await fetch(`${url}/metrics`)).text();
    assert.match(m, /watchkv_upstream_connected 1/);
  } finally {
    for (const c of closers) c();
    await node?.close();
    await cluster.stop();
  }
});

test.run();
