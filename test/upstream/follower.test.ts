/**
 * The follower's loop step by step against a scripted etcd (no processes, no timing): list at R,
 * watch from R+1, events grouped per revision, progress notifications move the revision on,
 * progress answers only move the head (lag and readiness), a failed stream rotates members and
 * resumes at the last revision + 1, and a compacted resume relists.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'node:events';
import type { EtcdClient } from '../../src/upstream/etcd-client.ts';
import { UpstreamFollower, type FollowerSink } from '../../src/upstream/upstream-follower.ts';
import { readiness } from '../../src/upstream/upstream-node.ts';
import type { Event, KeyValue } from '../../src/mvcc/kv.ts';
import { until } from '../support/watch-harness.ts';

class FakeCall extends EventEmitter {
  readonly written: any[] = [];
  canceled = false;
  write(m: any): void {
    this.written.push(m);
  }
  cancel(): void {
    this.canceled = true;
  }
}

/** A scripted etcd: Range answers from `state`, every stream is a FakeCall the test drives. */
class FakeEtcd {
  state: { revision: number; kvs: any[] } = { revision: 10, kvs: [] };
  readonly streams: FakeCall[] = [];
  readonly rotated: number[] = [];
  ranges = 0;
  private member = 0;

  async call(_s: string, method: string): Promise<any> {
    assert.is(method, 'Range');
    this.ranges++;
    return { header: { revision: String(this.state.revision) }, kvs: this.state.kvs, more: false };
  }
  stream(): { call: FakeCall; member: number } {
    const call = new FakeCall();
    this.streams.push(call);
    return { call, member: this.member };
  }
  rotate(m: number): void {
    this.rotated.push(m);
    this.member = m + 1;
  }
  backoffMs(): number {
    return 1;
  }
  endpoint(): string {
    return `http://member${this.member}`;
  }
  last(): FakeCall {
    return this.streams[this.streams.length - 1]!;
  }
}

class Sink implements FollowerSink {
  rev = 0;
  readonly log: string[] = [];
  load(kvs: KeyValue[], revision: number, relist: boolean): void {
    this.rev = revision;
    this.log.push(`load ${revision} ${kvs.length}${relist ? ' relist' : ''}`);
  }
  commit(revision: number, events: Event[]): void {
    this.rev = revision;
    this.log.push(`commit ${revision} ${events.map((e) => `${e.type}:${e.kv.key}`).join(',')}`);
  }
  progress(revision: number): void {
    this.rev = revision;
    this.log.push(`progress ${revision}`);
  }
  compacted(revision: number): void {
    this.log.push(`compacted ${revision}`);
  }
  revision(): number {
    return this.rev;
  }
}

const kv = (key: string, rev: number) => ({ key: Buffer.from(key), value: Buffer.from('v'), create_revision: String(rev), mod_revision: String(rev), version: '1', lease: '0' });
const put = (key: string, rev: number) => ({ type: 'PUT', kv: kv(key, rev) });

function rig(globalHead = true) {
  const etcd = new FakeEtcd();
  etcd.state = { revision: 10, kvs: [kv('/a', 4), kv('/b', 9)] };
  const sink = new Sink();
  const f = new UpstreamFollower(etcd as unknown as EtcdClient, sink, {
    key: Buffer.of(0),
    rangeEnd: Buffer.of(0),
    listPageKeys: 100,
    progressIntervalMs: 60_000,
    globalHead,
    log: () => undefined,
  });
  return { etcd, sink, f };
}

test('lists at R, watches from R+1, groups events per revision, takes progress notifications', async () => {
  const { etcd, sink, f } = rig();
  await f.start();
  assert.equal(sink.log, ['load 10 2']);
  await until(() => etcd.streams.length === 1, 2000);
  const s = etcd.last();
  assert.is(s.written[0].create_request.start_revision, '11');
  assert.is(s.written[0].create_request.prev_kv, true);
  assert.is(f.status().connected, false);
  s.emit('data', { watch_id: '0', created: true, header: { revision: '10' } });
  assert.is(f.status().connected, true);
  s.emit('data', { watch_id: '0', header: { revision: '12' }, events: [put('/a', 11), put('/c', 11), { type: 'DELETE', kv: { key: Buffer.from('/b'), mod_revision: '12' } }] });
  s.emit('data', { watch_id: '0', header: { revision: '15' }, events: [] }); // etcd's progress notification
  assert.equal(sink.log.slice(1), ['commit 11 PUT:/a,PUT:/c', 'commit 12 DELETE:/b', 'progress 15']);
  const st = f.status();
  assert.equal([st.revision, st.headRevision, st.lagRevisions, st.lagSeconds], [15, 15, 0, 0]);
  assert.equal(readiness(st, 3000), { ready: true });
  await f.close();
});

test('a progress answer ahead of the mirror is lag (not revision); readiness turns false after readyLagMs', async () => {
  const { etcd, sink, f } = rig();
  await f.start();
  await until(() => etcd.streams.length === 1, 2000);
  const s = etcd.last();
  s.emit('data', { watch_id: '0', created: true, header: { revision: '10' } });
  s.emit('data', { watch_id: '-1', header: { revision: '30' } });
  assert.is(sink.rev, 10, 'the mirror does not move on a progress answer');
  const now = Date.now();
  assert.equal(f.status(now).lagRevisions, 20);
  assert.ok(f.status(now + 5000).lagSeconds >= 4.9);
  assert.equal(readiness(f.status(now + 5000), 3000).ready, false);
  assert.equal(readiness(f.status(now), 3000).ready, true, 'a moment behind is not "behind"');
  s.emit('data', { watch_id: '0', header: { revision: '30' }, events: [put('/z', 30)] });
  assert.equal(f.status(now + 5000).lagSeconds, 0);
  await f.close();
});

test('with a prefix, progress answers (the global head) are not counted as lag', async () => {
  const { etcd, f } = rig(false);
  await f.start();
  await until(() => etcd.streams.length === 1, 2000);
  etcd.last().emit('data', { watch_id: '0', created: true, header: { revision: '10' } });
  etcd.last().emit('data', { watch_id: '-1', header: { revision: '30' } });
  assert.is(f.status().lagRevisions, 0);
  await f.close();
});

test('a failed stream rotates to the next member and resumes at the last revision + 1; disconnected is not ready', async () => {
  const { etcd, sink, f } = rig();
  await f.start();
  await until(() => etcd.streams.length === 1, 2000);
  const s = etcd.last();
  s.emit('data', { watch_id: '0', created: true, header: { revision: '10' } });
  s.emit('data', { watch_id: '0', header: { revision: '13' }, events: [put('/a', 13)] });
  s.emit('error', Object.assign(new Error('14 UNAVAILABLE: Connection dropped'), { code: 14 }));
  assert.is(f.status().connected, false);
  assert.equal(readiness(f.status(), 3000), { ready: false, reason: 'upstream: disconnected from etcd' });
  await until(() => etcd.streams.length === 2, 2000);
  assert.equal(etcd.rotated, [0]);
  assert.ok(s.canceled);
  assert.is(etcd.last().written[0].create_request.start_revision, '14');
  etcd.last().emit('data', { watch_id: '5', created: true, header: { revision: '13' } });
  etcd.last().emit('data', { watch_id: '5', header: { revision: '14' }, events: [put('/b', 14)] });
  assert.equal(sink.log.slice(-2), ['commit 13 PUT:/a', 'commit 14 PUT:/b']);
  assert.is(etcd.ranges, 1, 'no relist for a plain failure');
  await f.close();
});

test('a resume that etcd compacted past relists at the new revision, then watches from there', async () => {
  const { etcd, sink, f } = rig();
  await f.start();
  await until(() => etcd.streams.length === 1, 2000);
  etcd.last().emit('data', { watch_id: '0', created: true, header: { revision: '10' } });
  etcd.state = { revision: 50, kvs: [kv('/n', 49)] };
  etcd.last().emit('data', { watch_id: '0', canceled: true, compact_revision: '40', header: { revision: '50' } });
  await until(() => etcd.streams.length === 2, 2000);
  assert.equal(sink.log.slice(1), ['compacted 40', 'load 50 1 relist']);
  assert.equal(etcd.rotated, [], 'a compaction is not a member failure');
  assert.is(etcd.last().written[0].create_request.start_revision, '51');
  await f.close();
});

test.run();
