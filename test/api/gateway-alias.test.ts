/**
 * etcd 3.4's second gateway prefix, `/v3beta/` (etcd 3.3's, still served by 3.4): the same
 * requests under it against a real etcd 3.4 and watchkv, compared by status and body (ids and
 * revisions masked), with the watch over a streaming POST and a WebSocket; `/v3alpha/` and
 * look-alike prefixes are 404 on both.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pairForSuite } from '../support/etcd-pair.ts';
import { b64, openHttpWatch, openWsWatch, post, unb64 } from '../support/http-client.ts';

const pair = pairForSuite(test);

function masked(body: unknown): unknown {
  return JSON.parse(
    JSON.stringify(body)
      .replace(/"(cluster_id|member_id|revision|raft_term|create_revision|mod_revision|ID)":"\d+"/g, '"$1":"N"')
      .replace(/"(version|dbSize|dbSizeInUse|leader|raftIndex|raftAppliedIndex|raftTerm)":"[^"]*"/g, '"$1":"V"'),
  );
}

async function same(path: string, body: unknown): Promise<any> {
  const [e, w] = await Promise.all([post(pair.etcd.url, path, body), post(pair.wk.url, path, body)]);
  assert.is(w.status, e.status, `${path}: status (etcd ${JSON.stringify(e.body)}, watchkv ${JSON.stringify(w.body)})`);
  if (e.status === 200) assert.equal(masked(w.body), masked(e.body), path);
  else if (typeof e.body === 'object' && e.body) assert.is(w.body.code, e.body.code, `${path}: code`);
  return w.body;
}

test('kv, txn, lease and maintenance under /v3beta/ answer as under /v3/, as etcd 3.4', async () => {
  await same('/v3beta/kv/put', { key: b64('beta/a'), value: b64('1') });
  await same('/v3beta/kv/put', { key: b64('beta/b'), value: b64('2'), prev_kv: true });
  const r = await same('/v3beta/kv/range', { key: b64('beta/'), range_end: b64('beta0') });
  assert.equal(r.kvs.map((kv: any) => unb64(kv.key)), ['beta/a', 'beta/b']);
  await same('/v3beta/kv/txn', { compare: [{ key: b64('beta/a'), target: 'VALUE', result: 'EQUAL', value: b64('1') }], success: [{ request_put: { key: b64('beta/a'), value: b64('3') } }] });
  await same('/v3beta/kv/deleterange', { key: b64('beta/b'), prev_kv: true });
  await same('/v3beta/kv/range', { key: '' }); // empty key: 400, code 3
  await same('/v3beta/kv/put', '{"key":'); // malformed JSON
  // Lease ids differ between the servers: each is revoked by its own id, and the answers compared.
  for (const revoke of ['/v3beta/lease/revoke', '/v3beta/kv/lease/revoke']) {
    const [eg, wg] = await Promise.all([post(pair.etcd.url, '/v3beta/lease/grant', { TTL: 30 }), post(pair.wk.url, '/v3beta/lease/grant', { TTL: 30 })]);
    assert.equal(masked(wg.body), masked(eg.body), 'grant');
    const [er, wr] = await Promise.all([post(pair.etcd.url, revoke, { ID: eg.body.ID }), post(pair.wk.url, revoke, { ID: wg.body.ID })]);
    assert.equal([wr.status, masked(wr.body)], [er.status, masked(er.body)], revoke);
    const [et, wt] = await Promise.all([post(pair.etcd.url, '/v3beta/lease/timetolive', { ID: eg.body.ID }), post(pair.wk.url, '/v3beta/lease/timetolive', { ID: wg.body.ID })]);
    assert.equal(masked(wt.body), masked(et.body), 'timetolive after revoke');
    assert.is(wt.body.TTL, '-1');
  }
  const st = await same('/v3beta/maintenance/status', {});
  // No raft log: both raft indexes are the current revision (as over gRPC).
  assert.equal([st.raftIndex, st.raftAppliedIndex], [st.header.revision, st.header.revision]);
});

test('watch under /v3beta/watch: streaming POST and WebSocket, as etcd 3.4', async () => {
  for (const kind of ['http', 'ws'] as const) {
    const key = b64(`beta/w/${kind}`);
    const open = (url: string) => (kind === 'http' ? openHttpWatch(url, [{ create_request: { key } }], '/v3beta/watch') : openWsWatch(url, '/v3beta/watch'));
    const [e, w] = await Promise.all([open(pair.etcd.url), open(pair.wk.url)]);
    try {
      if (kind === 'ws') for (const s of [e, w]) s.send({ create_request: { key } });
      await Promise.all([e, w].map((s) => s.waitFor((m) => m.result?.created === true)));
      await Promise.all([post(pair.etcd.url, '/v3beta/kv/put', { key, value: b64('v') }), post(pair.wk.url, '/v3beta/kv/put', { key, value: b64('v') })]);
      const [ee, we] = await Promise.all([e, w].map((s) => s.waitFor((m) => (m.result?.events?.length ?? 0) > 0)));
      assert.equal(masked(we), masked(ee), kind);
      assert.is(unb64(we.result.events[0].kv.key), `beta/w/${kind}`);
    } finally {
      await Promise.all([e.close(), w.close()]);
    }
  }
});

test('/v3alpha/ and look-alike prefixes are 404 on both', async () => {
  for (const path of ['/v3alpha/kv/range', '/v3betax/kv/range', '/v3beta', '/v3beta/nope']) {
    const [e, w] = await Promise.all([post(pair.etcd.url, path, { key: b64('a') }), post(pair.wk.url, path, { key: b64('a') })]);
    assert.is(e.status, 404, `etcd ${path}`);
    assert.is(w.status, 404, `watchkv ${path}`);
  }
});

test.run();
