/**
 * The store's space quota and alarms (src/mvcc/space-quota.ts, alarm-store.ts), on the store
 * itself: what a raised NOSPACE and CORRUPT refuse and let through, the quota raising NOSPACE,
 * room coming back after compaction and defragmentation, alarms kept across a restart (LevelDB),
 * and etcd's costs. The same behaviour through etcdctl and the gateway, side by side with etcd:
 * test/conformance/space-quota.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { LevelBackend } from '../../src/backend/level-backend.ts';
import { openKvStore, type KvStore } from '../../src/mvcc/kv-store.ts';
import { SpaceQuota, putCost, txnCost } from '../../src/mvcc/space-quota.ts';
import type { TxnRequest } from '../../src/mvcc/kv.ts';
import { isKvError } from '../../src/errors.ts';
import { META_ALARMS } from '../../src/mvcc/alarm-store.ts';

const b = (s: string): Buffer => Buffer.from(s);
const MEMBER = 42n;

/** The error code a promise rejects with, or 'ok'. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isKvError(e) ? e.code : String(e);
  }
}

const put = (kv: KvStore, k: string, v = 'v') => kv.put({ key: b(k), value: b(v), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false });
const del = (kv: KvStore, k: string) => kv.deleteRange({ key: b(k), prevKv: false });
const txn = (kv: KvStore, success: TxnRequest['success'], failure: TxnRequest['failure'] = []) => kv.txn({ compare: [], success, failure });
const putOp = (k: string) => ({ put: { key: b(k), value: b('v'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
const grant = (kv: KvStore) => kv.leaseWrite(() => ({ ops: [{ type: 'put' as const, key: b('lquota'), value: b('1') }], result: undefined }), 'grant');
const revoke = (kv: KvStore) => kv.leaseWrite(() => ({ ops: [], result: undefined }), 'revoke');
const alarms = async (kv: KvStore) => (await kv.alarm({ action: 'GET', memberId: 0n, alarm: 'NONE' })).map((a) => `${a.memberId}:${a.alarm}`);

test("etcd's costs: a put is key + value + 256; a txn its larger branch's puts, nested ones too; deletes nothing", () => {
  assert.is(putCost(b('k'), b('vv')), 259);
  assert.is(txnCost({ compare: [], success: [putOp('a'), { deleteRange: { key: b('x'), prevKv: false } }], failure: [] }), 258);
  assert.is(txnCost({ compare: [], success: [putOp('a')], failure: [putOp('bb'), putOp('c')] }), 259 + 258);
  assert.is(txnCost({ compare: [], success: [{ txn: { compare: [], success: [putOp('a')], failure: [] } }], failure: [] }), 258);
  assert.is(txnCost({ compare: [], success: [{ range: { key: b('a') } } as never], failure: [] }), 0);
});

test('the estimate counts writes let through since the last measurement', async () => {
  const q = new SpaceQuota({ quotaBytes: 1000, sizeRefreshMs: 3_600_000, measure: async () => 100 });
  await q.refresh();
  assert.ok(q.admit(500)); // 100 + 500 < 1000
  assert.not.ok(q.admit(400)); // 600 + 400 reaches the quota
  assert.ok(q.admit(0)); // a zero cost always fits
  assert.ok(q.admit(399));
  assert.is(q.sizeBytes(), 999);
  await q.refresh(); // measured again: the disk's figure replaces the estimate
  assert.is(q.sizeBytes(), 100);
});

test('over the quota: the put is refused and raises NOSPACE; what NOSPACE refuses and lets through; compact, defragment, disarm', async () => {
  const kv = await openKvStore(new MemoryBackend(), { quotaBackendBytes: 20_000, memberId: MEMBER, checkpoint: null });
  try {
    let refused = 0;
    for (let i = 0; i < 40 && refused === 0; i++) if ((await outcome(put(kv, `fill/${i}`, 'x'.repeat(1000)))) === 'ERR_NO_SPACE') refused = i;
    assert.ok(refused > 10 && refused < 20, `refused at put ${refused}`);
    assert.equal(await alarms(kv), ['42:NOSPACE']);
    const rev = kv.currentRevision();

    assert.is(await outcome(put(kv, 'small')), 'ERR_NO_SPACE');
    assert.is(await outcome(txn(kv, [], [putOp('small')])), 'ERR_NO_SPACE'); // a put in either branch
    assert.is(await outcome(grant(kv)), 'ERR_NO_SPACE');
    assert.is(await outcome(txn(kv, [{ range: { key: b('fill/1') } } as never])), 'ok');
    assert.is(await outcome(kv.range({ key: b('fill/1') } as never)), 'ok');
    assert.is(await outcome(revoke(kv)), 'ok');
    assert.is(await outcome(kv.deleteRange({ key: b('fill/'), rangeEnd: b('fill0'), prevKv: false })), 'ok');
    assert.is(kv.currentRevision(), rev + 1, 'refused writes burn no revision');
    await kv.compact(kv.currentRevision(), true);
    await kv.defragment();
    assert.is(await outcome(put(kv, 'small')), 'ERR_NO_SPACE', 'room alone does not end the alarm');

    assert.equal(
      (await kv.alarm({ action: 'DEACTIVATE', memberId: MEMBER, alarm: 'NOSPACE' })).map((a) => a.alarm),
      ['NOSPACE'],
    );
    assert.equal(await alarms(kv), []);
    assert.is(await outcome(put(kv, 'small')), 'ok');
    assert.is(await outcome(grant(kv)), 'ok');
  } finally {
    await kv.close();
  }
});

test('the refusal is answered only once the NOSPACE it raised is on disk (a crash after the answer keeps the alarm)', async () => {
  /** Remembers what each settled batch wrote: what a kill -9 right now would leave. */
  class SettledBackend extends MemoryBackend {
    readonly settled: string[] = [];
    override write(ops: Parameters<MemoryBackend['write']>[0]): Promise<void> {
      const keys = ops.map((op) => op.key.toString('latin1'));
      const p = super.write(ops);
      p.then(() => this.settled.push(...keys), () => undefined);
      return p;
    }
  }
  const backend = new SettledBackend();
  const kv = await openKvStore(backend, { quotaBackendBytes: 20_000, memberId: MEMBER, checkpoint: null });
  try {
    const alarmKey = META_ALARMS.toString('latin1');
    let refused = false;
    for (let i = 0; i < 40 && !refused; i++) {
      const r = await outcome(put(kv, `fill/${i}`, 'x'.repeat(1000)));
      refused = r === 'ERR_NO_SPACE';
      assert.is(backend.settled.includes(alarmKey), refused, `put ${i}: ${r}`);
    }
    assert.ok(refused);
  } finally {
    await kv.close();
  }
});

test('CORRUPT refuses every write but read-only txns; ACTIVATE and DEACTIVATE answer as etcd', async () => {
  const kv = await openKvStore(new MemoryBackend(), { memberId: MEMBER, checkpoint: null });
  try {
    await put(kv, 'k');
    assert.equal(await kv.alarm({ action: 'ACTIVATE', memberId: 7n, alarm: 'CORRUPT' }), [{ memberId: 7n, alarm: 'CORRUPT' }]);
    assert.equal(await kv.alarm({ action: 'ACTIVATE', memberId: 7n, alarm: 'CORRUPT' }), [{ memberId: 7n, alarm: 'CORRUPT' }]); // up already: answered again
    assert.equal(await alarms(kv), ['7:CORRUPT']);
    for (const [what, p] of [
      ['put', put(kv, 'k')],
      ['delete', del(kv, 'k')],
      ['txn with a delete', txn(kv, [{ deleteRange: { key: b('k'), prevKv: false } }])],
      ['compact', kv.compact(1)],
      ['lease grant', grant(kv)],
      ['lease revoke', revoke(kv)],
    ] as const) {
      assert.is(await outcome(p), 'ERR_CORRUPT_ALARM', what);
    }
    assert.is(await outcome(txn(kv, [{ range: { key: b('k') } } as never])), 'ok');
    assert.equal(await kv.alarm({ action: 'DEACTIVATE', memberId: 8n, alarm: 'CORRUPT' }), []); // not raised by 8: nothing
    assert.equal(await kv.alarm({ action: 'GET', memberId: 0n, alarm: 'NOSPACE' }), []);
    assert.equal(await kv.alarm({ action: 'DEACTIVATE', memberId: 7n, alarm: 'CORRUPT' }), [{ memberId: 7n, alarm: 'CORRUPT' }]);
    assert.is(await outcome(put(kv, 'k')), 'ok');
  } finally {
    await kv.close();
  }
});

test('alarms survive a restart (LevelDB), and a disarm does too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-quota-'));
  try {
    let kv = await openKvStore(new LevelBackend(dir), { memberId: MEMBER });
    await put(kv, 'k');
    await kv.alarm({ action: 'ACTIVATE', memberId: MEMBER, alarm: 'NOSPACE' });
    await kv.alarm({ action: 'ACTIVATE', memberId: 3n, alarm: 'CORRUPT' });
    await kv.close();

    kv = await openKvStore(new LevelBackend(dir), { memberId: MEMBER });
    assert.equal(await alarms(kv), ['42:NOSPACE', '3:CORRUPT']);
    assert.is(await outcome(put(kv, 'k')), 'ERR_CORRUPT_ALARM');
    await kv.alarm({ action: 'DEACTIVATE', memberId: 3n, alarm: 'CORRUPT' });
    assert.is(await outcome(put(kv, 'k')), 'ERR_NO_SPACE');
    await kv.alarm({ action: 'DEACTIVATE', memberId: MEMBER, alarm: 'NOSPACE' });
    await kv.close();

    kv = await openKvStore(new LevelBackend(dir), { memberId: MEMBER });
    assert.equal(await alarms(kv), []);
    assert.is(await outcome(put(kv, 'k')), 'ok');
    await kv.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
