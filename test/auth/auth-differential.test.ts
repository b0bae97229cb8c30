/**
 * Differential: the same auth sequence against a real etcd 3.4 and watchkv, every answer's HTTP
 * status and body compared (headers' ids and tokens masked). First a fixed script through every
 * admin endpoint and its errors; then seeded random users, roles and permission sets, with every
 * KV operation (range, put, delete, txn, watch, lease revoke, compaction) tried as every user.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startEtcdTarget, startWatchkvTarget, type Target } from '../support/etcd-pair.ts';
import { Rng, testSeed } from '../support/rng.ts';

let etcd: Target;
let wkv: Target;
const b = (s: string): string => Buffer.from(s).toString('base64');

interface Answer {
  status: number;
  body: string;
}

async function call(t: Target, path: string, body: object, token?: string): Promise<Answer> {
  const r = await fetch(t.url + path, { method: 'POST', body: JSON.stringify(body), headers: token ? { authorization: token } : {} });
  const text = (await r.text()).trim();
  // Ids and raft terms differ by design; tokens are random; revisions are compared.
  const masked = text
    .replace(/"cluster_id":"\d+"/, '"cluster_id":"X"')
    .replace(/"member_id":"\d+"/, '"member_id":"X"')
    .replace(/"raft_term":"\d+"/, '"raft_term":"X"')
    .replace(/"token":"[^"]*"/, '"token":"T"')
    .replace(/"ID":"\d+"/, '"ID":"L"');
  return { status: r.status, body: masked };
}

/** Both servers, same request; the answers must agree. Returns watchkv's raw token if any. */
class Pair {
  tokens = new Map<string, [string, string]>();
  log: string[] = [];

  async both(path: string, body: object, user?: string): Promise<Answer> {
    const [te, tw] = user ? this.tokens.get(user) ?? ['x', 'x'] : [undefined, undefined];
    const [e, w] = await Promise.all([call(etcd, path, body, te), call(wkv, path, body, tw)]);
    const what = `${path} ${JSON.stringify(body)} as ${user ?? '(none)'}`;
    this.log.push(`${what} → ${e.status}`);
    if (w.status !== e.status || w.body !== e.body) console.log(this.log.slice(-8).join('\n'));
    assert.is(w.status, e.status, `status of ${what}: ${w.body} vs etcd ${e.body}`);
    assert.is(w.body, e.body, `body of ${what}`);
    return e;
  }

  /** The same request to both where the answers' values differ by design (member URLs, db size): status and fields. */
  async shape(path: string, body: object, user?: string): Promise<void> {
    const [te, tw] = user ? this.tokens.get(user) ?? ['x', 'x'] : [undefined, undefined];
    const [e, w] = await Promise.all([call(etcd, path, body, te), call(wkv, path, body, tw)]);
    const what = `${path} ${JSON.stringify(body)} as ${user ?? '(none)'}`;
    this.log.push(`${what} → ${e.status}`);
    assert.is(w.status, e.status, `status of ${what}: ${w.body} vs etcd ${e.body}`);
    const fields = (a: Answer): string[] => Object.keys(JSON.parse(a.body) as object).filter((k) => k !== 'errors' && k !== 'isLearner');
    assert.equal(fields(w), fields(e), `fields of ${what}`);
  }

  async login(user: string, password: string): Promise<void> {
    const get = async (t: Target): Promise<string> => {
      const r = await fetch(t.url + '/v3/auth/authenticate', { method: 'POST', body: JSON.stringify({ name: user, password }) });
      assert.is(r.status, 200, `login ${user}`);
      return ((await r.json()) as { token: string }).token;
    };
    this.tokens.set(user, [await get(etcd), await get(wkv)]);
  }
}

test.before(async () => {
  [etcd, wkv] = await Promise.all([startEtcdTarget(), startWatchkvTarget()]);
});
test.after(async () => {
  await Promise.all([etcd?.stop(), wkv?.stop()]);
});

test('admin endpoints: every answer and error as etcd 3.4', async () => {
  const p = new Pair();
  await p.both('/v3/auth/enable', {});
  await p.both('/v3/auth/user/add', { name: '', password: 'x' });
  await p.both('/v3/auth/user/add', { name: 'root', password: 'rootpw' });
  await p.both('/v3/auth/user/add', { name: 'root', password: 'rootpw' });
  await p.both('/v3/auth/enable', {});
  await p.both('/v3/auth/authenticate', { name: 'root', password: 'rootpw' });
  await p.both('/v3/auth/user/grant', { user: 'root', role: 'root' });
  await p.both('/v3/auth/role/add', { name: '' });
  await p.both('/v3/auth/role/add', { name: 'r1' });
  await p.both('/v3/auth/role/add', { name: 'r1' });
  await p.both('/v3/auth/role/grant', { name: 'r1', perm: { permType: 'READ', key: b('a'), range_end: b('c') } });
  await p.both('/v3/auth/role/grant', { name: 'r1', perm: { permType: 'WRITE', key: b('w') } });
  await p.both('/v3/auth/role/grant', { name: 'nope', perm: { permType: 'WRITE', key: b('w') } });
  await p.both('/v3/auth/role/get', { role: 'r1' });
  await p.both('/v3/auth/role/get', { role: 'nope' });
  await p.both('/v3/auth/user/add', { name: 'u1', password: 'pw' });
  await p.both('/v3/auth/user/grant', { user: 'u1', role: 'r1' });
  await p.both('/v3/auth/user/grant', { user: 'u1', role: 'nope' });
  await p.both('/v3/auth/user/grant', { user: 'nobody', role: 'r1' });
  await p.both('/v3/auth/user/get', { name: 'u1' });
  await p.both('/v3/auth/user/get', { name: 'nobody' });
  await p.both('/v3/auth/user/list', {});
  await p.both('/v3/auth/role/list', {});
  await p.both('/v3/auth/user/add', { name: 'np', options: { no_password: true } });
  await p.both('/v3/auth/enable', {});
  await p.both('/v3/auth/enable', {});
  await p.both('/v3/kv/range', { key: b('a') });
  await p.both('/v3/auth/authenticate', { name: 'u1', password: 'bad' });
  await p.both('/v3/auth/authenticate', { name: 'nobody', password: 'pw' });
  await p.both('/v3/auth/authenticate', { name: 'np', password: '' });
  await p.both('/v3/auth/authenticate', { name: 'u1', password: 'pw' });
  await p.login('u1', 'pw');
  await p.login('root', 'rootpw');
  await p.both('/v3/kv/range', { key: b('a') }, 'u1');
  await p.both('/v3/kv/range', { key: b('a'), range_end: b('d') }, 'u1');
  await p.both('/v3/kv/put', { key: b('w'), value: b('1') }, 'u1');
  await p.both('/v3/kv/put', { key: b('w'), value: b('1'), prev_kv: true }, 'u1');
  await p.both('/v3/kv/put', { key: b('a'), value: b('1') }, 'u1');
  await p.both('/v3/kv/range', { key: b('a') }, 'garbage');
  // The Maintenance server's own root check: etcd's auth package wording, code Unknown (HTTP
  // 500); the snapshot's refusal in its stream's error shape.
  for (const path of ['/v3/maintenance/hash', '/v3/maintenance/defragment', '/v3/maintenance/snapshot']) {
    await p.both(path, {});
    await p.both(path, {}, 'u1');
    await p.both(path, {}, 'garbage');
  }
  // What etcd 3.4 serves without looking at the credential (Patroni lists the members before it
  // signs in); an alarm's token is resolved, so a bad one is refused in the auth package's words.
  for (const who of [undefined, 'u1', 'garbage']) {
    await p.shape('/v3/cluster/member/list', {}, who);
    await p.shape('/v3/maintenance/status', {}, who);
    await p.both('/v3/maintenance/alarm', {}, who);
  }
  await p.both('/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: '0', alarm: 'NOSPACE' }, 'garbage');
  await p.both('/v3/auth/user/list', {}, 'u1');
  await p.both('/v3/auth/user/list', {}, 'root');
  await p.both('/v3/auth/role/revoke', { role: 'r1', key: b('w') }, 'root');
  await p.both('/v3/auth/role/revoke', { role: 'r1', key: b('zz') }, 'root');
  await p.both('/v3/kv/put', { key: b('w'), value: b('1') }, 'u1');
  await p.both('/v3/auth/user/revoke', { name: 'u1', role: 'zz' }, 'root');
  await p.both('/v3/auth/user/delete', { name: 'root' }, 'root');
  await p.both('/v3/auth/user/revoke', { name: 'root', role: 'root' }, 'root');
  await p.both('/v3/auth/role/delete', { role: 'root' }, 'root');
  await p.both('/v3/auth/user/changepw', { name: 'u1', password: 'pw2' }, 'root');
  await p.both('/v3/kv/range', { key: b('a') }, 'u1'); // tokens die with the old password
  await p.both('/v3/auth/role/delete', { role: 'r1' }, 'root');
  await p.both('/v3/auth/user/get', { name: 'u1' }, 'root');
  await p.both('/v3/auth/user/delete', { name: 'u1' }, 'root');
  await p.both('/v3/auth/disable', {}, 'u1');
  await p.both('/v3/auth/disable', {}, 'root');
  await p.both('/v3/auth/disable', {});
  await p.both('/v3/auth/authenticate', { name: 'root', password: 'rootpw' });
  await p.both('/v3/kv/range', { key: b('a') }, 'garbage');
  await p.both('/v3/maintenance/hash', {}, 'garbage');
  await p.both('/v3/maintenance/snapshot', {}, 'garbage');
});

test('random users, roles and permissions: every operation allowed or denied as etcd', async () => {
  const seed = testSeed();
  const rng = new Rng(seed);
  console.log(`auth differential seed ${seed} (TEST_SEED=${seed} replays it)`);
  const p = new Pair();
  const keys = ['a', 'b', 'ba', 'bz', 'c', 'k1', 'k2', 'z'];
  const pick = <T>(xs: readonly T[]): T => rng.pick(xs);
  // The first test left root (password rootpw) on both servers, auth disabled.
  await p.both('/v3/auth/user/grant', { user: 'root', role: 'root' });
  const users = ['alice', 'bob', 'carol'];
  const roles = ['ra', 'rb', 'rc'];
  for (const r of roles) {
    await p.both('/v3/auth/role/add', { name: r });
    for (let i = 0; i < 3; i++) {
      const from = pick(keys);
      const range = rng.int(0, 3 - 1); // 0: one key, 1: a range, 2: from the key on
      const perm: Record<string, string> = { permType: pick(['READ', 'WRITE', 'READWRITE']), key: b(from) };
      if (range === 1) perm.range_end = b(pick(keys.filter((k) => k > from).concat(['zz'])));
      if (range === 2) perm.range_end = b('\0');
      await p.both('/v3/auth/role/grant', { name: r, perm });
    }
    await p.both('/v3/auth/role/get', { role: r });
  }
  for (const u of users) {
    await p.both('/v3/auth/user/add', { name: u, password: `${u}pw` });
    for (const r of roles) if (rng.int(0, 2 - 1) === 0) await p.both('/v3/auth/user/grant', { user: u, role: r });
    await p.both('/v3/auth/user/get', { name: u });
  }
  await p.both('/v3/auth/enable', {});
  for (const u of [...users, 'root']) await p.login(u, u === 'root' ? 'rootpw' : `${u}pw`);
  for (let i = 0; i < 120; i++) {
    const who = pick([...users, ...users, 'root', undefined]);
    const k = pick(keys);
    const end = pick([undefined, pick(keys.filter((x) => x > k).concat(['zz'])), '\0']);
    const range = end === undefined ? { key: b(k) } : { key: b(k), range_end: b(end) };
    switch (rng.int(0, 6 - 1)) {
      case 0:
        await p.both('/v3/kv/range', range, who);
        break;
      case 1:
        await p.both('/v3/kv/put', { key: b(k), value: b(`v${i}`), prev_kv: rng.int(0, 4 - 1) === 0 }, who);
        break;
      case 2:
        await p.both('/v3/kv/deleterange', range, who);
        break;
      case 3:
        await p.both(
          '/v3/kv/txn',
          {
            compare: [{ key: b(pick(keys)), target: 'VERSION', result: 'GREATER', version: '0' }],
            success: [{ request_put: { key: b(pick(keys)), value: b('t') } }],
            failure: [{ request_range: { key: b(pick(keys)) } }],
          },
          who,
        );
        break;
      case 4:
        // Non-root compaction: a deliberate difference (etcd 3.4 lets anyone compact); root only.
        await p.both('/v3/kv/compaction', { revision: 1 }, 'root');
        break;
      case 5:
        if (rng.int(0, 3 - 1) === 0) {
          const r = pick(roles);
          const perms = await p.both('/v3/auth/role/get', { role: r }, 'root');
          const got = JSON.parse(perms.body).perm as Array<{ key?: string; range_end?: string }> | undefined;
          if (got && got.length > 0) {
            const victim = pick(got);
            await p.both('/v3/auth/role/revoke', { role: r, key: victim.key ?? '', range_end: victim.range_end ?? '' }, 'root');
          }
        } else await p.both('/v3/auth/user/revoke', { name: pick(users), role: pick(roles) }, pick(['root', ...users]));
        break;
    }
  }
});

test.run();
