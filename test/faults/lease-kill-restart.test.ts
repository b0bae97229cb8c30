/**
 * kill -9 of the real server process while clients grant leases, attach keys and revoke, then a
 * restart on the same LevelDB dir. After the restart:
 *   1. every acknowledged grant whose revoke was not acknowledged is there, with its full TTL
 *      again, and every acknowledged revoke stays revoked;
 *   2. revokes are atomic: a lease that is gone has none of its keys left, a lease that is there
 *      still holds every key acknowledged on it (timetolive keys == the keys in the store);
 *   3. no live key names a lease that does not exist;
 *   4. short leases expire later (not before the restart + most of their TTL), deleting their keys.
 * Replay with TEST_SEED=<seed>.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, testSeed } from '../support/rng.ts';
import { b64, post } from '../support/http-client.ts';
import { spawnServer, waitReady } from './server-process.ts';

const SEED = testSeed();
const WORKERS = 4;
const SHORT_TTL_S = 4;

interface Tracked {
  id: string;
  ttl: number;
  granted: boolean;
  keys: string[];
  /** A revoke was sent (it may have applied even if its answer never came). */
  revokeSent: boolean;
  revoked: boolean;
}

let dir = '';
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'watchkv-lease-kill-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function worker(url: string, rng: Rng, w: number, out: Tracked[], stop: () => boolean): Promise<void> {
  for (let n = 0; !stop(); n++) {
    const lease: Tracked = { id: String(w * 1_000_000 + n + 1), ttl: rng.pick([SHORT_TTL_S, SHORT_TTL_S, 600]), granted: false, keys: [], revokeSent: false, revoked: false };
    out.push(lease);
    try {
      if ((await post(url, '/v3/lease/grant', { ID: lease.id, TTL: lease.ttl }, 5000)).status !== 200) return;
      lease.granted = true;
      for (let k = 0; k < rng.int(1, 3); k++) {
        const key = `/lk/${lease.id}/${k}`;
        if ((await post(url, '/v3/kv/put', { key: b64(key), value: b64('v'), lease: lease.id }, 5000)).status !== 200) return;
        lease.keys.push(key);
      }
      if (rng.chance(0.5)) {
        lease.revokeSent = true;
        if ((await post(url, '/v3/lease/revoke', { ID: lease.id }, 5000)).status !== 200) return;
        lease.revoked = true;
      }
    } catch {
      return; // the server is gone: nothing after this was acknowledged
    }
  }
}

async function keysOf(url: string, id: string): Promise<string[]> {
  const prefix = `/lk/${id}/`;
  const end = prefix.slice(0, -1) + '0';
  const r = await post(url, '/v3/kv/range', { key: b64(prefix), range_end: b64(end) });
  return (r.body.kvs ?? []).map((kv: any) => {
    assert.is(kv.lease, id, `key ${Buffer.from(kv.key, 'base64')} names lease ${kv.lease}, expected ${id}`);
    return Buffer.from(kv.key, 'base64').toString();
  });
}

test(`leases survive kill -9: acknowledged grants and revokes hold, revokes are atomic, TTLs restart (seed ${SEED})`, async () => {
  const rng = new Rng(SEED);
  const s1 = await spawnServer(dir);
  await waitReady(s1);
  const tracked: Tracked[] = [];
  let stopped = false;
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(s1.url, new Rng(SEED + w), w + 1, tracked, () => stopped));
  await new Promise((r) => setTimeout(r, rng.int(600, 1200)));
  await s1.kill9();
  stopped = true;
  await Promise.all(workers);
  assert.ok(tracked.filter((l) => l.granted).length >= 10, `too little work before the kill: ${tracked.length}`);

  // Every lease is reloaded after this moment, so its new deadline is >= spawnAt + TTL, while its
  // old one was < spawnAt + TTL (granted before the kill): "full TTL again" is checked against
  // spawnAt, never against how fast this machine happens to be.
  const spawnAt = Date.now();
  const s2 = await spawnServer(dir);
  await waitReady(s2);
  const minTtlLeft = (ttl: number) => Math.floor((spawnAt + ttl * 1000 - Date.now()) / 1000);
  try {
    // A snapshot right after the restart.
    const live = new Set<string>(((await post(s2.url, '/v3/lease/leases', {})).body.leases ?? []).map((l: any) => l.ID));
    const snapshotAt = Date.now();
    const all = (await post(s2.url, '/v3/kv/range', { key: b64('/lk/'), range_end: b64('/lk0') })).body.kvs ?? [];
    const keysByLease = new Map<string, string[]>();
    for (const kv of all) {
      const key = Buffer.from(kv.key, 'base64').toString();
      const owner = key.split('/')[2]!;
      assert.is(kv.lease, owner, `key ${key} names lease ${kv.lease}`);
      // 3. no live key names a missing lease
      assert.ok(live.has(kv.lease), `key ${key} attached to dead lease ${kv.lease} (seed ${SEED})`);
      keysByLease.set(owner, [...(keysByLease.get(owner) ?? []), key]);
    }
    for (const l of tracked) {
      const keys = keysByLease.get(l.id) ?? [];
      if (l.revoked) {
        assert.not.ok(live.has(l.id), `lease ${l.id}: acknowledged revoke undone`);
        assert.equal(keys, [], `lease ${l.id}: revoked but keys left`);
        continue;
      }
      // A short lease may have expired again already, but only once a full TTL passed since the spawn.
      const mayHaveExpired = snapshotAt - spawnAt >= l.ttl * 1000;
      if (l.granted && !l.revokeSent && !mayHaveExpired) assert.ok(live.has(l.id), `lease ${l.id}: acknowledged grant lost (seed ${SEED})`);
      if (!live.has(l.id)) {
        assert.equal(keys, [], `lease ${l.id} is gone but keys are left: revoke not atomic (seed ${SEED})`);
        continue;
      }
      for (const k of l.keys) assert.ok(keys.includes(k), `lease ${l.id}: acknowledged key ${k} lost`);
      if (l.ttl !== 600) continue;
      const t = await post(s2.url, '/v3/lease/timetolive', { ID: l.id, keys: true });
      assert.equal((t.body.keys ?? []).map((k: string) => Buffer.from(k, 'base64').toString()).sort(), keys.sort(), `lease ${l.id}: attachments rebuilt`);
      assert.is(t.body.grantedTTL, '600');
      assert.ok(Number(t.body.TTL) >= minTtlLeft(600), `lease ${l.id}: full TTL again after restart, got ${t.body.TTL}`);
    }

    // 4. short leases expire later: not before spawnAt + TTL (their new deadline), but they do.
    const short = tracked.filter((l) => live.has(l.id) && l.ttl === SHORT_TTL_S);
    const long = tracked.filter((l) => live.has(l.id) && l.ttl === 600);
    if (short.length === 0) {
      assert.ok(snapshotAt - spawnAt >= SHORT_TTL_S * 1000, 'no short lease was alive at the kill');
      console.warn(`lease-kill-restart: the restart took ${snapshotAt - spawnAt} ms, every short lease expired before the check`);
    }
    for (const l of short.slice(0, 5)) {
      const t = await post(s2.url, '/v3/lease/timetolive', { ID: l.id });
      if (t.body.TTL !== '-1') assert.ok(Number(t.body.TTL) >= minTtlLeft(SHORT_TTL_S), `short lease ${l.id}: full TTL again, got ${t.body.TTL}`);
    }
    for (;;) {
      const left = ((await post(s2.url, '/v3/lease/leases', {})).body.leases ?? []).map((l: any) => l.ID);
      if (!short.some((l) => left.includes(l.id))) break;
      assert.ok(Date.now() - spawnAt < 60_000, 'short leases did not expire');
      await new Promise((r) => setTimeout(r, 100));
    }
    if (short.length > 0) assert.ok(Date.now() >= spawnAt + SHORT_TTL_S * 1000, `short leases expired ${Date.now() - spawnAt} ms after the spawn (TTL ${SHORT_TTL_S} s)`);
    for (const l of short) assert.equal(await keysOf(s2.url, l.id), [], `lease ${l.id} expired but kept keys`);
    for (const l of long) assert.ok((await keysOf(s2.url, l.id)).length >= l.keys.length, `long lease ${l.id} lost keys`);
  } finally {
    await s2.stop();
  }
});

test.run();
