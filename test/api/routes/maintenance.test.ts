/**
 * The JSON gateway's /v3/maintenance/{alarm,defragment,hash,transfer-leadership}: the same
 * requests against a real etcd 3.4 and watchkv, compared by status and body shape (ids, revisions
 * and hash values masked); then, watchkv only, root-only access while auth is on and a defragment
 * that gives the space of deleted values back, as a user sees it in /v3/maintenance/status.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pairForSuite, type Target } from '../../support/etcd-pair.ts';
import { b64, post } from '../../support/http-client.ts';
import { startTestServer } from '../../support/test-server.ts';

const pair = pairForSuite(test);

/** Ids, revisions and hashes differ legitimately; everything else must match. */
function masked(body: unknown): unknown {
  return JSON.parse(
    JSON.stringify(body)
      .replace(/"(cluster_id|member_id|revision|raft_term)":"\d+"/g, '"$1":"N"')
      .replace(/"hash":\d+/g, '"hash":"H"'),
  );
}

async function same(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const [e, w] = await Promise.all([post(pair.etcd.url, path, body), post(pair.wk.url, path, body)]);
  assert.is(w.status, e.status, `${path} ${JSON.stringify(body)}: status (watchkv ${JSON.stringify(w.body)})`);
  if (e.status === 200) assert.equal(masked(w.body), masked(e.body), `${path} ${JSON.stringify(body)}`);
  else assert.is(w.body.code, e.body.code, `${path} ${JSON.stringify(body)}: code`);
  return w;
}

async function memberId(t: Target): Promise<string> {
  return (await post(t.url, '/v3/maintenance/status', {})).body.header.member_id as string;
}

test('alarm, defragment, hash, transfer-leadership: as etcd 3.4 answers them', async () => {
  await same('/v3/kv/put', { key: b64('m/a'), value: b64('1') });
  await same('/v3/maintenance/alarm', {});
  await same('/v3/maintenance/alarm', { action: 'GET' });
  await same('/v3/maintenance/alarm', { action: 'DEACTIVATE', alarm: 'NOSPACE' });
  await same('/v3/maintenance/defragment', {});
  const h = await same('/v3/maintenance/hash', {});
  assert.type(h.body.hash, 'number'); // a uint32 is a JSON number in jsonpb, not a string
  await same('/v3/maintenance/transfer-leadership', { targetID: '5' }); // 412, code 9
  await same('/v3/maintenance/transfer-leadership', {}); // target 0 is no member either
  // To itself: the one member already leads. Member ids go past 2^63, so uint64, not int64.
  const [e, w] = await Promise.all([
    post(pair.etcd.url, '/v3/maintenance/transfer-leadership', { targetID: await memberId(pair.etcd) }),
    post(pair.wk.url, '/v3/maintenance/transfer-leadership', { targetID: await memberId(pair.wk) }),
  ]);
  assert.equal([w.status, w.body], [e.status, e.body]);
  assert.equal(w.body, {});
});

test('bad input: malformed JSON, a targetID that is not a uint64, an unknown alarm action', async () => {
  await same('/v3/maintenance/defragment', '{"x":');
  await same('/v3/maintenance/hash', '[');
  await same('/v3/maintenance/transfer-leadership', { targetID: 'abc' });
  await same('/v3/maintenance/transfer-leadership', { targetID: '-1' });
  const r = await post(pair.wk.url, '/v3/maintenance/transfer-leadership', { targetID: 'abc' });
  assert.match(r.body.message, /uint64/);
  const a = await post(pair.wk.url, '/v3/maintenance/alarm', { action: 'NOPE' });
  assert.is(a.status, 400);
  assert.match(a.body.message, /NOPE/);
});

test('watchkv: defragment gives back the space of deleted values (status dbSize); root only with auth on', async () => {
  const s = await startTestServer();
  try {
    const value = b64(randomBytes(64 * 1024)); // incompressible, so LevelDB cannot shrink it itself
    for (let i = 0; i < 40; i++) await post(s.url, '/v3/kv/put', { key: b64(`big/${i}`), value });
    // The values have been on disk a while (a first defragment flushes them to LevelDB's tables)
    // before they are deleted: the same levels on every run. Values written and deleted within
    // one write buffer are what defragment cannot give back (README, where watchkv differs).
    assert.equal((await post(s.url, '/v3/maintenance/defragment', {})).body, {});
    const del = await post(s.url, '/v3/kv/deleterange', { key: b64('big/'), range_end: b64('big0') });
    await post(s.url, '/v3/kv/compaction', { revision: del.body.header.revision, physical: true });
    const size = async () => Number((await post(s.url, '/v3/maintenance/status', {})).body.dbSize);
    const before = await size();
    assert.ok(before > 2_000_000, `deleted and compacted, the values still take space: ${before} B`);
    assert.equal((await post(s.url, '/v3/maintenance/defragment', {})).body, {});
    const after = await size();
    assert.ok(after < before / 10, `after defragment: ${after} B (was ${before} B)`);

    // Auth on: a user without the root role is refused; root is served.
    await post(s.url, '/v3/auth/user/add', { name: 'root', password: 'rootpw' });
    await post(s.url, '/v3/auth/user/grant', { user: 'root', role: 'root' });
    await post(s.url, '/v3/auth/user/add', { name: 'bob', password: 'bobpw' });
    assert.is((await post(s.url, '/v3/auth/enable', {})).status, 200);
    const token = async (name: string, password: string) => (await post(s.url, '/v3/auth/authenticate', { name, password })).body.token as string;
    const bob = await token('bob', 'bobpw');
    const root = await token('root', 'rootpw');
    // Defragment and Hash in etcd's Maintenance server's words (HTTP 500, code 2, "auth: ...");
    // move-leader, which etcd does not check, with watchkv's own 403.
    for (const [path, status, code, message] of [
      ['/v3/maintenance/defragment', 500, 2, 'auth: permission denied'],
      ['/v3/maintenance/hash', 500, 2, 'auth: permission denied'],
      ['/v3/maintenance/transfer-leadership', 403, 7, 'etcdserver: permission denied'],
    ] as const) {
      const denied = await postAs(s.url, path, bob);
      assert.equal([denied.status, denied.body.code, denied.body.message], [status, code, message], `${path} as bob`);
      assert.is.not((await postAs(s.url, path, root)).status, status, `${path} as root`);
    }
  } finally {
    await s.stop();
  }
});

async function postAs(base: string, path: string, token: string): Promise<{ status: number; body: any }> {
  const res = await fetch(new URL(path, base), { method: 'POST', headers: { authorization: token }, body: '{}' });
  return { status: res.status, body: await res.json() };
}

test.run();
