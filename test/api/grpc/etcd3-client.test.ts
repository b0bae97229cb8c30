/**
 * The npm `etcd3` client (what Node applications use against etcd) end to end against watchkv:
 * KV calls; a watch that survives a server restart (the client reconnects and resumes from the
 * revision after the last event it saw, so nothing is lost or repeated); its Lock and Election
 * recipes, which stand on leases, keep-alive streams, txns and watches together.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3, EtcdLockFailedError } from 'etcd3';
import { startServer, type RunningServer } from '../../../src/server.ts';
import { until } from '../../support/watch-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'watchkv-etcd3-'));
let server: RunningServer;
let port: number;

async function start(p = 0): Promise<void> {
  server = await startServer({ listenClientUrls: `http://127.0.0.1:${p}`, logLevel: 'silent', dataDir: dir });
  port = Number(new URL(server.address).port);
}

test.before(() => start());
test.after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('get, put, delete, prefix reads and a txn through etcd3', async () => {
  const client = new Etcd3({ hosts: `127.0.0.1:${port}` });
  await client.put('cfg/a').value('1');
  await client.put('cfg/b').value('2');
  assert.is(await client.get('cfg/a').string(), '1');
  assert.equal(await client.getAll().prefix('cfg/').strings(), { 'cfg/a': '1', 'cfg/b': '2' });
  const r = await client.if('cfg/a', 'Value', '==', '1').then(client.put('cfg/a').value('3')).else(client.get('cfg/a')).commit();
  assert.is(r.succeeded, true);
  assert.is(await client.get('cfg/a').string(), '3');
  await client.delete().key('cfg/b');
  assert.is(await client.get('cfg/b').string(), null);
  client.close();
});

test('a watch resumes across a server restart with no event lost or repeated', async () => {
  const client = new Etcd3({ hosts: `127.0.0.1:${port}` });
  const seen: string[] = [];
  const watcher = await client.watch().prefix('r/').create();
  watcher.on('put', (kv) => seen.push(kv.value.toString()));
  watcher.on('error', () => {});
  for (let i = 0; i < 5; i++) await client.put(`r/${i % 2}`).value(String(i));
  await until(() => seen.length === 5, 5000, 'events before the restart');

  await server.close();
  await start(port);
  const writer = new Etcd3({ hosts: `127.0.0.1:${port}` });
  for (let i = 5; i < 10; i++) await writer.put(`r/${i % 2}`).value(String(i));
  await until(() => seen.length >= 10, 15_000, 'events after the restart');
  assert.equal(seen, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  await watcher.cancel();
  writer.close();
  client.close();
});

test('Lock: mutual exclusion between two clients; the lock key lives on a lease', async () => {
  const a = new Etcd3({ hosts: `127.0.0.1:${port}` });
  const b = new Etcd3({ hosts: `127.0.0.1:${port}` });
  const lockA = await a.lock('jobs/lock').ttl(10).acquire();
  // etcd3's Lock does not queue: a held lock fails at once (EtcdLockFailedError).
  let failed: unknown;
  await b.lock('jobs/lock').ttl(10).acquire().catch((err) => (failed = err));
  assert.instance(failed, EtcdLockFailedError);
  const leases = await a.leaseClient.leaseLeases();
  assert.is(leases.leases.length, 1, 'the lock holds one lease');
  await lockA.release();
  const lockB = await b.lock('jobs/lock').ttl(10).acquire();
  await lockB.release();
  a.close();
  b.close();
});

test('Election: one leader, observers see it, resign hands over', async () => {
  const a = new Etcd3({ hosts: `127.0.0.1:${port}` });
  const b = new Etcd3({ hosts: `127.0.0.1:${port}` });
  const ca = a.election('svc', 5).campaign('node-a');
  await new Promise<void>((resolve, reject) => {
    ca.on('elected', () => resolve());
    ca.on('error', reject);
  });
  const cb = b.election('svc', 5).campaign('node-b');
  cb.on('error', () => {});
  const observer = await b.election('svc', 5).observe();
  assert.is(observer.leader(), 'node-a');
  const bElected = new Promise<void>((resolve) => cb.on('elected', () => resolve()));
  // Between a's resignation and b's election the observer may report "no leader" (undefined),
  // as it does against etcd: wait for the next leader, not the first change.
  const changed = new Promise<string | undefined>((resolve) => observer.on('change', (v) => v !== undefined && resolve(v)));
  try {
    await ca.resign();
    await bElected;
    assert.is(await changed, 'node-b');
  } finally {
    await observer.cancel();
    await cb.resign().catch(() => {});
    a.close();
    b.close();
  }
});

test('namespaces, a lease kept alive by the client, maintenance calls, sorted reads, delete with previous values', async () => {
  const client = new Etcd3({ hosts: `127.0.0.1:${port}` });
  try {
    const ns = client.namespace('tenant1/');
    await ns.put('x').value('1');
    assert.is(await client.get('tenant1/x').string(), '1');
    assert.equal(await ns.getAll().keys(), ['x']);

    // The client keeps its lease alive on its own: the key outlives the 2 s TTL, then goes with a revoke.
    const lease = client.lease(2);
    await lease.put('leased/k').value('v');
    await new Promise((r) => setTimeout(r, 3500));
    assert.is(await client.get('leased/k').string(), 'v');
    await lease.revoke();
    assert.is(await client.get('leased/k').string(), null);

    const st = await client.maintenance.status();
    assert.is(st.version, '3.4.23');
    assert.type((await client.maintenance.hash()).hash, 'number');
    await client.maintenance.defragment();
    await client.maintenance.moveLeader({ targetID: st.header.member_id });
    assert.equal((await client.maintenance.alarm({ action: 'GET' as never })).alarms, []);
    assert.is((await client.cluster.memberList({})).members.length, 1);

    await client.put('acct/a').value('1');
    await client.put('acct/b').value('2');
    assert.is(await client.getAll().prefix('acct/').count(), 2);
    assert.equal(await client.getAll().prefix('acct/').sort('Key', 'Descend').keys(), ['acct/b', 'acct/a']);
    const prev = await client.delete().prefix('acct/').getPrevious();
    assert.equal(prev.map((kv) => `${kv.key}=${kv.value}`), ['acct/a=1', 'acct/b=2']);
  } finally {
    client.close();
  }
});

test('STM: concurrent transfers under each isolation level keep the total; the user and role admin API', async () => {
  const client = new Etcd3({ hosts: `127.0.0.1:${port}` });
  try {
    await client.put('stm/a').value('100');
    await client.put('stm/b').value('0');
    // etcd3's Isolation is a const enum (not importable at run time): SerializableSnapshot,
    // Serializable, RepeatableReads, ReadCommitted.
    let committed = 0;
    for (const isolation of [0, 1, 2]) {
      const transfers = Array.from({ length: 4 }, () =>
        client
          .stm({ isolation: isolation as never, retries: 50 })
          .transact(async (tx) => {
            const a = Number(await tx.get('stm/a'));
            const b = Number(await tx.get('stm/b'));
            await tx.put('stm/a').value(String(a - 1));
            await tx.put('stm/b').value(String(b + 1));
          })
          .then(() => committed++, () => {}),
      );
      await Promise.all(transfers);
      const [a, b] = [Number(await client.get('stm/a').string()), Number(await client.get('stm/b').string())];
      assert.is(a + b, 100, `isolation ${isolation}: money neither made nor lost`);
      assert.is(b, committed, `isolation ${isolation}: one unit per committed transaction`);
    }
    assert.ok(committed >= 3, `some transactions commit (${committed})`);

    await client.user('stm-user').create('pw');
    await client.role('stm-role').create();
    await client.role('stm-role').grant({ permission: 'Read', range: client.range({ prefix: 'stm/' }) } as never);
    await client.user('stm-user').addRole('stm-role');
    assert.equal((await client.getUsers()).map((u) => u.name), ['stm-user']);
    assert.equal((await client.user('stm-user').roles()).map((r) => r.name), ['stm-role']);
    const perms = await client.role('stm-role').permissions();
    assert.equal(perms.map((p) => [p.permission, p.range.start.toString(), p.range.end.toString()]), [['Read', 'stm/', 'stm0']]);
    await client.user('stm-user').delete();
    await client.role('stm-role').delete();
    assert.equal(await client.getUsers(), []);
  } finally {
    client.close();
  }
});

test.run();
