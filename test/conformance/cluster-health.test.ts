/**
 * /health, /version and /v3/cluster/member/list side by side with a real etcd 3.4: status,
 * Content-Type and body shape must match (ids differ per server; watchkv has no peer URLs).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcdTarget, watchkvConfig, type Target } from '../support/etcd-pair.ts';
import { startServer } from '../../src/server.ts';

let etcd: Target;
let wk: Target;

test.before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-cluster-'));
  // etcd-server.ts names its etcd "bench"; give watchkv the same --name
  const server = await startServer(watchkvConfig(dir, ['--name', 'bench']));
  wk = { url: server.address, stop: async () => (await server.close(), rmSync(dir, { recursive: true, force: true })) };
  etcd = await startEtcdTarget();
});
test.after(async () => Promise.all([etcd?.stop(), wk?.stop()]).then(() => undefined));

interface Answer {
  status: number;
  type: string | null;
  body: string;
}

async function ask(t: Target, method: string, path: string, body?: string): Promise<Answer> {
  const r = await fetch(t.url + path, { method, body });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}

test('GET /health and GET /version: same status, content type and bytes as etcd', async () => {
  for (const path of ['/health', '/version']) {
    const [e, w] = [await ask(etcd, 'GET', path), await ask(wk, 'GET', path)];
    assert.equal(w, e, path);
  }
  assert.equal(JSON.parse((await ask(wk, 'GET', '/version')).body), { etcdserver: '3.4.23', etcdcluster: '3.4.0' });
});

test('POST /v3/cluster/member/list: one member, etcd shape, this server as the member', async () => {
  for (const body of ['{}', '', '{"linearizable":true}']) {
    const [e, w] = [await ask(etcd, 'POST', '/v3/cluster/member/list', body), await ask(wk, 'POST', '/v3/cluster/member/list', body)];
    assert.is(w.status, e.status);
    assert.is(w.type, e.type);
    const [je, jw] = [JSON.parse(e.body), JSON.parse(w.body)];
    assert.equal(Object.keys(jw), Object.keys(je));
    assert.equal(Object.keys(jw.header), Object.keys(je.header), 'no revision in this header, as etcd');
    for (const [j, t] of [[je, etcd], [jw, wk]] as const) {
      assert.is(j.members.length, 1);
      const m = j.members[0];
      assert.equal(Object.keys(m), ['ID', 'name', 'peerURLs', 'clientURLs']);
      assert.is(m.ID, j.header.member_id);
      assert.is(m.name, 'bench');
      assert.equal(m.clientURLs, [t.url]);
    }
    assert.equal(jw.members[0].peerURLs, [], 'watchkv has no raft peers');
  }
});

test('member/list and unary errors: a body that is not a JSON object is a 400 on both', async () => {
  for (const body of ['not json', '[]', '"x"']) {
    const [e, w] = [await ask(etcd, 'POST', '/v3/cluster/member/list', body), await ask(wk, 'POST', '/v3/cluster/member/list', body)];
    assert.is(w.status, e.status, body);
    assert.is(w.status, 400);
    assert.is(JSON.parse(w.body).code, JSON.parse(e.body).code);
  }
});

test('membership changes: an unknown id and promoting the voting member answer as etcd', async () => {
  const selfOf = async (t: Target) => JSON.parse((await ask(t, 'POST', '/v3/cluster/member/list', '{}')).body).members[0].ID as string;
  const [eSelf, wSelf] = [await selfOf(etcd), await selfOf(wk)];
  for (const [path, body] of [
    ['remove', '{"ID":"1234"}'],
    ['update', '{"ID":"1234","peerURLs":["http://127.0.0.1:1"]}'],
    ['promote', '{"ID":1234}'],
    ['promote', '{"ID":"SELF"}'],
  ] as const) {
    const e = await ask(etcd, 'POST', `/v3/cluster/member/${path}`, body.replace('SELF', eSelf));
    const w = await ask(wk, 'POST', `/v3/cluster/member/${path}`, body.replace('SELF', wSelf));
    assert.equal(w, e, `${path} ${body}`);
  }
  // What would need a cluster is refused, saying why (etcd would add an unstarted member).
  const add = await ask(wk, 'POST', '/v3/cluster/member/add', '{"peerURLs":["http://127.0.0.1:2"]}');
  assert.is(add.status, 501);
  assert.match(JSON.parse(add.body).error, 'single member with no raft peers');
  const removeSelf = await ask(wk, 'POST', '/v3/cluster/member/remove', `{"ID":"${wSelf}"}`);
  assert.equal([removeSelf.status, JSON.parse(removeSelf.body).code], [501, 12]);
});

test.run();
