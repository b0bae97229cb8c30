/**
 * watchkv's watch extensions end to end over real sockets: the wire shapes of issue 17 on the
 * WebSocket gateway (snapshot_start / snapshot_done framing for initial_state and resync,
 * latest-value batches) and on SSE (query parameters, snapshot messages), and a bad value is a
 * clear error. A watch without the fields stays etcd's (the rest of the suite covers it).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer } from '../../support/test-server.ts';
import { b64, openWsWatch, post } from '../../support/http-client.ts';
import { SseClient } from '../../support/sse-client.ts';

const put = async (url: string, key: string, value: string): Promise<number> => Number((await post(url, '/v3/kv/put', { key: b64(key), value: b64(value) })).body.header.revision);

test('WebSocket: initial_state frames the range at R, then changes from R+1', async () => {
  const s = await startTestServer({}, { memory: true });
  try {
    for (const k of ['a', 'b', 'c']) await put(s.url, `cfg/${k}`, k);
    await put(s.url, 'other', 'x');
    const ws = await openWsWatch(s.url);
    ws.send({ create_request: { key: b64('cfg/'), range_end: b64('cfg0'), initial_state: true } });
    const created = await ws.waitFor((m) => m.result?.created);
    const done = await ws.waitFor((m) => m.result?.snapshot_done);
    const R = created.result.header.revision;
    assert.is(done.result.header.revision, R, 'the state is at the created revision');
    const i = ws.messages.indexOf(created);
    assert.equal(ws.messages[i + 1].result.snapshot_start, true);
    assert.is(ws.messages[i + 1].result.watch_id, undefined, 'watch 0 is omitted, as etcd omits zeros');
    const state = ws.messages.slice(i + 2, ws.messages.indexOf(done)).flatMap((m) => m.result.events);
    assert.equal(state.map((e: any) => [Buffer.from(e.kv.key, 'base64').toString(), e.kv.version]), [['cfg/a', '1'], ['cfg/b', '1'], ['cfg/c', '1']]);
    const r = await put(s.url, 'cfg/a', 'A');
    const change = await ws.waitFor((m) => m.result?.events?.length, 5000, ws.messages.indexOf(done) + 1);
    assert.is(Number(change.result.events[0].kv.mod_revision), r);
    assert.ok(r > Number(R));
    await ws.close();
  } finally {
    await s.stop();
  }
});

test('WebSocket: on_compacted "resync" sends the state at the current revision instead of a cancel', async () => {
  const s = await startTestServer({}, { memory: true });
  try {
    for (let i = 0; i < 4; i++) await put(s.url, 'k/x', `${i}`);
    const rev = await put(s.url, 'k/y', 'y');
    await post(s.url, '/v3/kv/compaction', { revision: rev });
    const ws = await openWsWatch(s.url);
    ws.send({ create_request: { key: b64('k/'), range_end: b64('k0'), start_revision: 2, on_compacted: 'resync', watch_id: 7 } });
    const start = await ws.waitFor((m) => m.result?.snapshot_start);
    assert.equal([start.result.watch_id, start.result.compact_revision], ['7', String(rev)]);
    const done = await ws.waitFor((m) => m.result?.snapshot_done);
    assert.is(done.result.header.revision, String(rev));
    const keys = ws.messages.slice(ws.messages.indexOf(start) + 1, ws.messages.indexOf(done)).flatMap((m) => m.result.events.map((e: any) => Buffer.from(e.kv.value, 'base64').toString()));
    assert.equal(keys, ['3', 'y'], 'each key once, at its current value');
    assert.is(ws.messages.some((m) => m.result?.canceled), false);
    ws.send({ create_request: { key: b64('k/'), delivery: 'sometimes' } });
    const err = await ws.waitFor((m) => m.error);
    assert.match(err.error.message, /delivery/);
    await ws.close();
  } finally {
    await s.stop();
  }
});

test('SSE: ?initial_state gives snapshot_start, snapshot pages and snapshot_done with id R; bad values are a 400', async () => {
  const s = await startTestServer({}, { memory: true });
  try {
    await put(s.url, 'app/a', '1');
    const R = await put(s.url, 'app/b', '2');
    const c = await SseClient.open(`${s.url}/v1/watch/app/?prefix&initial_state&delivery=latest&lag_notify_revisions=1000`);
    await c.until(() => c.of('snapshot_done').length === 1, 'snapshot_done');
    assert.equal(c.of('snapshot_start').map((m) => JSON.parse(m.data)), [{ revision: R }]);
    assert.equal(c.of('snapshot_done')[0]!.id, String(R));
    assert.equal(c.of('snapshot').flatMap((m) => JSON.parse(m.data).events.map((e: any) => [e.key, e.value])), [['app/a', '1'], ['app/b', '2']]);
    const r = await put(s.url, 'app/a', '3');
    await c.until(() => c.of('change').length === 1, 'change');
    assert.is(c.of('change')[0]!.id, String(r));
    c.close();
    const bad = await fetch(`${s.url}/v1/watch/app/?prefix&on_compacted=later`);
    assert.is(bad.status, 400);
    assert.match(await bad.text(), /on_compacted/);
  } finally {
    await s.stop();
  }
});

test.run();
