/**
 * Negative watch start revisions against a real etcd 3.4 over the JSON gateway's streaming
 * watch: etcd places such a watcher at that revision and its first readable revision is -1 until
 * the first compaction, so -1 then means "from now", below -1 "compacted at -1", and after a
 * compaction every negative start is compacted at the compaction revision. Answers are compared
 * line by line with ids masked (both servers start at revision 1 and get the same writes).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pairForSuite, type Target } from '../support/etcd-pair.ts';
import { b64, openHttpWatch, post, type WatchSession } from '../support/http-client.ts';

const pair = pairForSuite(test);
const KEY = b64('neg/k');

const masked = (m: unknown): unknown => JSON.parse(JSON.stringify(m).replace(/"(cluster_id|member_id|raft_term)":"\d+"/g, '"$1":"N"'));
const both = <T>(f: (t: Target) => Promise<T>): Promise<[T, T]> => Promise.all([f(pair.etcd), f(pair.wk)]) as Promise<[T, T]>;
const watch = (start: number) => both((t) => openHttpWatch(t.url, [{ create_request: { key: KEY, start_revision: String(start) } }]));
const put = (value: string) => both((t) => post(t.url, '/v3/kv/put', { key: KEY, value: b64(value) }));
const closeAll = (...ss: WatchSession[]) => Promise.all(ss.map((s) => s.close()));

test('never compacted: start -1 goes on from now; start -5 is created, then canceled at compact_revision -1', async () => {
  await put('old'); // revision 2
  const [fromNowE, fromNowW] = await watch(-1);
  const [belowE, belowW] = await watch(-5);
  try {
    await Promise.all([belowE, belowW].map((s) => s.waitFor((m) => m.result?.canceled === true)));
    assert.equal(masked(belowW.messages), masked(belowE.messages));
    assert.is(belowW.messages[1].result.compact_revision, '-1');
    await Promise.all([fromNowE, fromNowW].map((s) => s.waitFor((m) => m.result?.created === true)));
    // etcd's watcher is unsynced until its sync loop (every 100 ms) finds no history for it; an
    // event committed before that is skipped by etcd, so write only after the loop has run.
    await new Promise((r) => setTimeout(r, 400));
    await put('new'); // revision 3
    await Promise.all([fromNowE, fromNowW].map((s) => s.waitFor((m) => (m.result?.events?.length ?? 0) > 0)));
    await Promise.all([fromNowE, fromNowW].map((s) => s.settle(100)));
    assert.equal(masked(fromNowW.messages), masked(fromNowE.messages));
    assert.equal(fromNowW.messages.map((m) => m.result.events?.map((e: any) => e.kv.mod_revision) ?? 'created'), ['created', ['3']]);
  } finally {
    await closeAll(fromNowE, fromNowW, belowE, belowW);
  }
});

test('after a compaction: every negative start is canceled at the compaction revision', async () => {
  await put('x'); // revision 4
  await both((t) => post(t.url, '/v3/kv/compaction', { revision: '4', physical: true }));
  for (const start of [-1, -7]) {
    const [e, w] = await watch(start);
    try {
      await Promise.all([e, w].map((s) => s.waitFor((m) => m.result?.canceled === true)));
      assert.equal(masked(w.messages), masked(e.messages), `start ${start}`);
      assert.is(w.messages[1].result.compact_revision, '4');
    } finally {
      await closeAll(e, w);
    }
  }
});

test.run();
