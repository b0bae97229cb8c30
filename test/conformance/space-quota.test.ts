/**
 * The space quota and alarms, differential against a real etcd 3.4, both started with
 * --quota-backend-bytes 1 MiB: etcdctl fills each until it refuses a put, then one script runs
 * against both and every output must match once ids, revisions and sizes are masked:
 *   - NOSPACE: raised by the refused put; `alarm list`, `endpoint status` (its errors column);
 *     puts, txns with a put and lease grants refused with "database space exceeded"; reads,
 *     deletes, read-only txns and compaction go on; after compact + defrag, `alarm disarm` lets
 *     writes in again;
 *   - CORRUPT raised by hand (the gateway's Maintenance.Alarm): every write refused with "corrupt
 *     cluster", reads and read-only txns go on, disarm ends it;
 *   - the gateway's Alarm answers (GET, ACTIVATE twice, DEACTIVATE of what is not raised, the
 *     NONE type etcd files like any other) as etcd words them.
 * How many puts fit differs (bbolt and LevelDB grow differently), so the fill is not compared.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startEtcdTarget, startWatchkvTarget, type Target } from '../support/etcd-pair.ts';
import { ctl, normalizeCtl } from '../support/etcdctl.ts';

const QUOTA = ['--quota-backend-bytes', String(1024 * 1024)];
let etcd: Target;
let wk: Target;

test.before(async () => {
  [etcd, wk] = await Promise.all([startEtcdTarget(QUOTA), startWatchkvTarget(QUOTA)]);
});
test.after(async () => {
  await Promise.all([etcd?.stop(), wk?.stop()]);
});

const memberIds = new Map<Target, string>();

/** normalizeCtl, plus this server's member id and revisions (the fills differ in length). */
function mask(s: string, t: Target): string {
  const id = memberIds.get(t);
  const out = id === undefined ? s : s.split(id).join('MEMBER');
  return normalizeCtl(out, t)
    .replace(/"revision":"?\d+"?/g, '"revision":R')
    .replace(/compacted revision \d+/g, 'compacted revision R');
}

async function same(args: string[] | ((t: Target) => string[]), stdin = ''): Promise<string> {
  const argsOf = typeof args === 'function' ? args : () => args;
  const out: string[] = [];
  for (const t of [etcd, wk]) {
    const r = await ctl(t, argsOf(t), stdin);
    out.push(`${r.code}\n${mask(r.stdout, t)}\n${mask(r.stderr, t)}`);
  }
  assert.is(out[1], out[0], `etcdctl ${argsOf(etcd).join(' ')}`);
  return out[0]!;
}

/** The same gateway request to both; the answers must match once masked. */
async function sameHttp(path: string, body: object): Promise<string> {
  const out: string[] = [];
  for (const t of [etcd, wk]) {
    const text = JSON.stringify(body).split('SELF').join(memberIds.get(t)!);
    const res = await fetch(`${t.url}${path}`, { method: 'POST', body: text });
    // etcd lists alarms in Go map order (random from run to run): compare them sorted.
    const answer = mask(await res.text(), t).replace(/"alarms":\[(.*)\]/, (_m, list: string) => `"alarms":[${list.split('},{').map((a) => a.replace(/[{}]/g, '')).sort().join('|')}]`);
    out.push(`${res.status} ${answer}`);
  }
  assert.is(out[1], out[0], `POST ${path} ${JSON.stringify(body)}`);
  return out[0]!;
}

async function revision(t: Target): Promise<string> {
  const r = await ctl(t, ['endpoint', 'status', '-w', 'json']);
  return /"revision":(\d+)/.exec(r.stdout)![1]!;
}

test('NOSPACE: a put over the quota raises it; what it refuses and lets through; compact, defrag, disarm', async () => {
  for (const t of [etcd, wk]) memberIds.set(t, /"member_id":(\d+)/.exec((await ctl(t, ['endpoint', 'status', '-w', 'json'])).stdout)![1]!);
  const value = 'x'.repeat(60_000);
  for (const t of [etcd, wk]) {
    let refused: string | undefined;
    for (let i = 0; i < 60 && refused === undefined; i++) {
      const r = await ctl(t, ['put', `fill/k${String(i).padStart(2, '0')}`, value]);
      if (r.code !== 0) refused = mask(r.stderr, t);
    }
    assert.is(refused, 'Error: etcdserver: mvcc: database space exceeded', `${t === wk ? 'watchkv' : 'etcd'} refuses a put past 1 MiB`);
  }
  assert.match(await same(['alarm', 'list']), 'memberID:MEMBER alarm:NOSPACE');
  await same(['alarm', 'list', '-w', 'json']);
  assert.match(await same(['endpoint', 'status', '-w', 'json']), '"errors":["memberID:MEMBER alarm:NOSPACE "]');

  await same(['put', 'small', 'v']); // refused: the alarm is up, however small the put
  await same(['lease', 'grant', '30']);
  await same(['txn'], '\nput small v\n\n');
  await same(['txn'], 'value("small") = "v"\n\nget fill/k00 --keys-only\n\nput small v\n\n'); // a put in either branch counts
  await same(['txn'], '\nget nothing\n\n'); // read-only: goes through
  await same(['get', 'fill/k02', '--keys-only']);
  await same(['del', 'fill/k00']);
  await same(['txn'], '\ndel fill/k01\n\n'); // deletes cost nothing
  // Make room: the rest of the fill goes (how many keys that is differs, so only success is compared).
  for (const t of [etcd, wk]) assert.is((await ctl(t, ['del', 'fill/', '--prefix'])).code, 0);
  const revs = new Map<Target, string>();
  for (const t of [etcd, wk]) revs.set(t, await revision(t));
  await same((t) => ['compaction', '--physical', revs.get(t)!]);
  await same(['defrag']);
  await same(['put', 'small', 'v']); // still refused: only a disarm ends the alarm
  assert.match(await same(['alarm', 'disarm']), 'memberID:MEMBER alarm:NOSPACE');
  await same(['alarm', 'list']);
  await same(['put', 'small', 'v']);
  for (const t of [etcd, wk]) assert.match((await ctl(t, ['lease', 'grant', '30'])).stdout, /lease [0-9a-f]+ granted with TTL\(30s\)/);
});

test('CORRUPT raised by hand: every write refused, reads go on, disarm ends it', async () => {
  await sameHttp('/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: 'SELF', alarm: 'CORRUPT' });
  await same(['alarm', 'list']);
  await same(['endpoint', 'status', '-w', 'json']);
  await same(['put', 'small', 'w']);
  await same(['del', 'small']);
  await same(['txn'], '\ndel small\n\n');
  await same(['txn'], '\nget small\n\n');
  await same(['get', 'small']);
  const revs = new Map<Target, string>();
  for (const t of [etcd, wk]) revs.set(t, await revision(t));
  await same((t) => ['compaction', revs.get(t)!]);
  await same(['alarm', 'disarm']);
  await same(['put', 'small', 'w']);
  await same(['get', 'small']);
});

test("the gateway's Alarm: GET, ACTIVATE twice, DEACTIVATE of what is not raised, the NONE type, bad input", async () => {
  await sameHttp('/v3/maintenance/alarm', {});
  await sameHttp('/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: '5', alarm: 'NOSPACE' });
  await sameHttp('/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: '5', alarm: 'NOSPACE' });
  await sameHttp('/v3/maintenance/alarm', { action: 'GET', alarm: 'NOSPACE' });
  await sameHttp('/v3/maintenance/alarm', { action: 'GET', alarm: 'CORRUPT' });
  await sameHttp('/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: '6', alarm: 'NOSPACE' });
  await sameHttp('/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: '7' }); // type NONE: filed all the same
  await sameHttp('/v3/maintenance/alarm', { action: 'GET' });
  await sameHttp('/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: '7' });
  await sameHttp('/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: '5', alarm: 'NOSPACE' });
  await sameHttp('/v3/maintenance/alarm', { action: 'GET' });
  // Bad input: both refuse with InvalidArgument; watchkv's message names the field (a README difference).
  for (const t of [etcd, wk]) {
    for (const body of [{ memberID: 'x' }, { action: 'BOGUS' }]) {
      const res = await fetch(`${t.url}/v3/maintenance/alarm`, { method: 'POST', body: JSON.stringify(body) });
      const answer = (await res.json()) as { code: number; message: string };
      assert.equal([res.status, answer.code], [400, 3], `${t === wk ? 'watchkv' : 'etcd'}: ${JSON.stringify(body)} → ${answer.message}`);
    }
  }
});

test.run();
