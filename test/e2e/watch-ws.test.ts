/**
 * Watch over WebSocket against a real server: etcd's verbatim session (§B.6), malformed frames
 * answered in-band with the socket still usable, many watches per socket, the stream limit, and
 * deliveries checked by the watch validator.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { validateWatcher } from '../support/watch-validator.ts';
import { decodeFrame } from '../support/watch-frames.ts';
import { EVENT_HELD_OVERHEAD_BYTES } from '../../src/watch/recent-history.ts';

let s: TestServer;
let H: (rev: number) => string;

class Client {
  readonly frames: string[] = [];
  closeInfo: { code: number; reason: string } | undefined;
  private waiters: Array<() => void> = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.frames.push(d.toString());
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static async open(url: string): Promise<Client> {
    const ws = new WebSocket(url.replace('http', 'ws') + '/v3/watch');
    const c = new Client(ws);
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    return c;
  }
  send(text: string): void {
    this.ws.send(text);
  }
  /** Frames consumed by next(): frames may arrive before the caller asks (even before a put's reply). */
  private read = 0;
  async next(n = 1, timeoutMs = 5000): Promise<string[]> {
    const start = this.read;
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < start + n) {
      if (this.closeInfo) throw new Error(`closed ${JSON.stringify(this.closeInfo)}; frames ${this.frames.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`timeout waiting for frames; got ${this.frames.join("\n")} state ${this.ws.readyState}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    this.read += n;
    return this.frames.slice(start, start + n);
  }
  async nextFrame(): Promise<string> {
    return (await this.next(1))[0]!;
  }
}

async function post(path: string, body: string): Promise<any> {
  const r = await fetch(s.url + path, { method: 'POST', body });
  return JSON.parse(await r.text());
}

test.before(async () => {
  s = await startTestServer({ maxWatchStreams: 4, maxWatchersPerStream: 4 }, { memory: true });
  const st = await post('/v3/maintenance/status', '{}');
  H = (rev) => `{"cluster_id":"${st.header.cluster_id}","member_id":"${st.header.member_id}","revision":"${rev}","raft_term":"2"}`;
});
test.after(async () => s.stop());

const WS = 'L3Jlc2VhcmNoL3dz';

test("etcd's verbatim WebSocket session, byte for byte", async () => {
  const c = await Client.open(s.url);
  c.send('{"create_request":{"key":"L3Jlc2VhcmNoLw==","range_end":"L3Jlc2VhcmNoMA==","prev_kv":true,"progress_notify":true,"watch_id":"42"}}');
  assert.is(await c.nextFrame(), `{"result":{"header":${H(1)},"watch_id":"42","created":true}}`);
  await post('/v3/kv/put', `{"key":"${WS}","value":"b25l"}`);
  assert.is(await c.nextFrame(), `{"result":{"header":${H(2)},"watch_id":"42","events":[{"kv":{"key":"${WS}","create_revision":"2","mod_revision":"2","version":"1","value":"b25l"}}]}}`);
  await post('/v3/kv/put', `{"key":"${WS}","value":"dHdv"}`);
  assert.is(await c.nextFrame(), `{"result":{"header":${H(3)},"watch_id":"42","events":[{"kv":{"key":"${WS}","create_revision":"2","mod_revision":"3","version":"2","value":"dHdv"},"prev_kv":{"key":"${WS}","create_revision":"2","mod_revision":"2","version":"1","value":"b25l"}}]}}`);
  await post('/v3/kv/deleterange', `{"key":"${WS}"}`);
  assert.is(await c.nextFrame(), `{"result":{"header":${H(4)},"watch_id":"42","events":[{"type":"DELETE","kv":{"key":"${WS}","mod_revision":"4"},"prev_kv":{"key":"${WS}","create_revision":"2","mod_revision":"3","version":"2","value":"dHdv"}}]}}`);
  c.send('{"progress_request":{}}');
  assert.is(await c.nextFrame(), `{"result":{"header":${H(4)},"watch_id":"-1"}}`);
  c.send('{"cancel_request":{"watch_id":"42"}}');
  assert.is(await c.nextFrame(), `{"result":{"header":${H(4)},"watch_id":"42","canceled":true}}`);
  c.ws.close(1000);
});

test('malformed frames get an error frame; the socket and its other watches keep working', async () => {
  const c = await Client.open(s.url);
  c.send('{"create_request":{"key":"L3Jlc2VhcmNoL2E="}}');
  const created = JSON.parse(await c.nextFrame());
  assert.is(created.result.created, true);
  const bad = ['not json', '[1,2]', '{"create_request":{"key":"@@@"}}', '{"create_request":{"start_revision":"x"}}', '{"bogus_request":{}}', '{"create_request":{"filters":["NOPE"]}}'];
  for (const b of bad) {
    c.send(b);
    const f = JSON.parse(await c.nextFrame());
    assert.is(f.error.grpc_code, 3, b);
    assert.is(f.error.http_code, 400, b);
    assert.is(f.error.http_status, 'Bad Request', b);
    assert.type(f.error.message, 'string');
  }
  // an oversized frame (over maxBodyBytes, 2 MiB by default) is refused in-band too
  c.send(`{"create_request":{"key":"${'A'.repeat(2.2 * 1024 * 1024)}"}}`);
  const big = JSON.parse(await c.nextFrame());
  assert.is(big.error.grpc_code, 8);
  assert.match(big.error.message, 'larger than max');
  await post('/v3/kv/put', '{"key":"L3Jlc2VhcmNoL2E=","value":"eA=="}');
  const ev = JSON.parse(await c.nextFrame());
  assert.is(ev.result.events[0].kv.value, 'eA==');
  c.ws.close();
});

test('many watches on one socket, checked by the validator', async () => {
  const c = await Client.open(s.url);
  const start = Number((await post('/v3/kv/range', '{"key":"AA==","range_end":"AA==","count_only":true}')).header.revision) + 1;
  const keys = ['a', 'b', 'c'];
  for (const k of keys) c.send(JSON.stringify({ create_request: { key: Buffer.from(k).toString('base64'), start_revision: start, prev_kv: true } }));
  c.send(JSON.stringify({ create_request: { key: 'AA==', range_end: 'AA==', start_revision: start } }));
  await c.next(4);
  for (let i = 0; i < 30; i++) await post('/v3/kv/put', JSON.stringify({ key: Buffer.from(keys[i % 3]!).toString('base64'), value: Buffer.from(String(i)).toString('base64') }));
  await post('/v3/kv/deleterange', '{"key":"YQ=="}');
  const last = start + 30;
  // wait until the all-keys watcher has seen the last revision
  for (let t = 0; t < 100 && !c.frames.map(decodeFrame).some((r) => r && r.watchId === 3 && r.events.some((e) => e.kv.modRevision === last)); t++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const history = await s.server.store.history(start, last, { withPrevKv: true });
  const all = c.frames.map(decodeFrame).filter((r) => r !== undefined);
  const reqs = [
    ...keys.map((k) => ({ key: Buffer.from(k), startRevision: start, prevKv: true })),
    { key: Buffer.from([0]), rangeEnd: Buffer.of(0), startRevision: start, prevKv: false },
  ];
  for (let id = 0; id < 4; id++) {
    const request = { progressNotify: false, noPut: false, noDelete: false, watchId: 0, fragment: false, ...reqs[id]! };
    const responses = all.filter((r) => r.watchId === id).map((r) => ({ ...r, withPrevKv: request.prevKv }));
    const errs = validateWatcher(history, { request, responses });
    assert.equal(errs, [], `watcher ${id}`);
    const n = responses.reduce((a, r) => a + r.events.length, 0);
    assert.ok(n > 0, `watcher ${id} got events`);
  }
  c.ws.close();
});

test('catch-up over a socket is the same whether it comes from the recent history in memory or from the store', async () => {
  // A server that keeps only the last 10 or so events in memory: a watch from before them is
  // read from LevelDB, one from within them is served from memory; both must be exact.
  const small = await startTestServer({ watchHistoryBytes: 10 * (EVENT_HELD_OVERHEAD_BYTES + 20) });
  try {
    const put = async (k: string, v: string): Promise<number> => {
      const r = await fetch(`${small.url}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: Buffer.from(k).toString('base64'), value: Buffer.from(v).toString('base64') }) });
      return Number(((await r.json()) as { header: { revision: string } }).header.revision);
    };
    const first = (await put('h/a', 'x')) + 1;
    let last = 0;
    for (let i = 0; i < 40; i++) last = await put(`h/${'abcd'[i % 4]}`, String(i));
    const c = await Client.open(small.url);
    const prefix = { key: Buffer.from('h/').toString('base64'), range_end: Buffer.from('h0').toString('base64'), prev_kv: true };
    c.send(JSON.stringify({ create_request: { ...prefix, start_revision: first } })); // from the store
    c.send(JSON.stringify({ create_request: { ...prefix, start_revision: last - 5 } })); // from memory
    const got = (id: number): number => c.frames.map(decodeFrame).filter((r) => r?.watchId === id).reduce((a, r) => a + r!.events.length, 0);
    for (let t = 0; t < 100 && (got(0) < last - first + 1 || got(1) < 6); t++) await new Promise((r) => setTimeout(r, 50));
    const history = await small.server.store.history(first, last, { withPrevKv: true });
    const all = c.frames.map(decodeFrame).filter((r) => r !== undefined);
    for (const [id, startRevision] of [[0, first], [1, last - 5]] as const) {
      const request = { key: Buffer.from('h/'), rangeEnd: Buffer.from('h0'), startRevision, prevKv: true, progressNotify: false, noPut: false, noDelete: false, watchId: 0, fragment: false };
      const responses = all.filter((r) => r.watchId === id).map((r) => ({ ...r, withPrevKv: true }));
      assert.equal(validateWatcher(history, { request, responses }), [], `watcher ${id}`);
      assert.is(responses.reduce((a, r) => a + r.events.length, 0), last - startRevision + 1, `watcher ${id}: every revision once`);
    }
    c.ws.close();
  } finally {
    await small.stop();
  }
});

test('too many watchers on one socket: the extra create is refused in-band', async () => {
  const c = await Client.open(s.url);
  for (let i = 0; i < 5; i++) c.send(`{"create_request":{"key":"${Buffer.from('w' + i).toString('base64')}"}}`);
  const frames = (await c.next(5)).map((f) => JSON.parse(f).result);
  assert.equal(frames.slice(0, 4).map((r) => r.canceled ?? false), [false, false, false, false]);
  assert.is(frames[4].created, true);
  assert.is(frames[4].canceled, true);
  assert.ok(frames[4].cancel_reason, 'a reason is given');
  c.ws.close();
});

test('too many watch streams: refused with close code 1013', async () => {
  const open: Client[] = [];
  for (let i = 0; i < 4; i++) open.push(await Client.open(s.url));
  const extra = await Client.open(s.url);
  for (let t = 0; t < 100 && !extra.closeInfo; t++) await new Promise((r) => setTimeout(r, 20));
  assert.is(extra.closeInfo?.code, 1013);
  assert.match(extra.closeInfo!.reason, 'too many watch streams');
  const r = await fetch(s.url + '/v3/watch', { method: 'POST', body: '{"create_request":{"key":"YQ=="}}' });
  assert.is(r.status, 429);
  assert.is(JSON.parse(await r.text()).code, 8);
  for (const c of open) c.ws.close();
});

test.run();
