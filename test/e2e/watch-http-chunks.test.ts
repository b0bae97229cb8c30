/**
 * Wire framing of the streaming POST /v3/watch, read from a raw TCP socket: the HTTP/1.1
 * chunked body is parsed here, not by an HTTP client, and every chunk must be exactly one
 * complete JSON message ending in "\n" — as etcd's gateway flushes them and as gateway clients
 * (read a chunk, JSON-parse it) need. Covers many small events, big events, several watchers
 * on one stream, progress, cancel, fragments, and the in-stream error line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { startTestServer, type TestServer } from '../support/test-server.ts';

let s: TestServer;

test.before(async () => {
  s = await startTestServer({}, { memory: true });
});
test.after(async () => s.stop());

const b64 = (x: string | Buffer): string => Buffer.from(x).toString('base64');

/** A raw chunked POST: our own request chunks out, the response's chunks parsed one by one. */
class RawStream {
  readonly chunks: Buffer[] = [];
  status = 0;
  headers = '';
  private buf = Buffer.alloc(0);
  private headDone = false;
  private readonly sock: net.Socket;

  constructor(url: string, path: string) {
    const u = new URL(url);
    this.sock = net.connect(Number(u.port), u.hostname);
    this.sock.on('data', (d: Buffer) => this.onData(d));
    this.sock.on('error', () => {});
    this.sock.write(`POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
  }

  send(text: string): void {
    const b = Buffer.from(text);
    this.sock.write(`${b.length.toString(16)}\r\n`);
    this.sock.write(b);
    this.sock.write('\r\n');
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.headDone) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.headers = this.buf.subarray(0, end).toString('latin1');
      this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.headers)![1]);
      this.buf = this.buf.subarray(end + 4);
      this.headDone = true;
    }
    // chunk = size-hex CRLF data CRLF; a chunk extension (";…") is not expected from us
    for (;;) {
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return;
      const sizeLine = this.buf.subarray(0, eol).toString('latin1');
      assert.match(sizeLine, /^[0-9a-f]+$/, `bad chunk size line ${JSON.stringify(sizeLine)}`);
      const size = parseInt(sizeLine, 16);
      if (this.buf.length < eol + 2 + size + 2) return;
      const data = this.buf.subarray(eol + 2, eol + 2 + size);
      assert.is(this.buf.subarray(eol + 2 + size, eol + 4 + size).toString('latin1'), '\r\n', 'chunk not followed by CRLF');
      this.chunks.push(Buffer.from(data));
      this.buf = this.buf.subarray(eol + 4 + size);
    }
  }

  /** Every chunk so far, each asserted to be one whole JSON message plus its newline. */
  messages(): any[] {
    return this.chunks.map((c) => {
      const text = c.toString('utf8');
      assert.ok(text.endsWith('\n'), `chunk does not end with a newline: ${text.slice(-80)}`);
      assert.not.ok(text.slice(0, -1).includes('\n'), 'two messages in one chunk');
      return JSON.parse(text); // throws on half a message
    });
  }

  async waitFor(n: number): Promise<any[]> {
    for (let t = 0; t < 400 && this.chunks.length < n; t++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(this.chunks.length >= n, `expected ${n} chunks, got ${this.chunks.length}`);
    return this.messages();
  }

  close(): void {
    this.sock.destroy();
  }
}

async function post(path: string, body: unknown): Promise<any> {
  return (await fetch(s.url + path, { method: 'POST', body: JSON.stringify(body) })).json();
}

test('every chunk is one message: many events, big events, several watchers, progress, cancel', async () => {
  const st = new RawStream(s.url, '/v3/watch');
  st.send(JSON.stringify({ create_request: { key: b64('c/'), range_end: b64('c0'), watch_id: 1, prev_kv: true } }));
  st.send(JSON.stringify({ create_request: { key: b64('c/a'), watch_id: 2 } }) + JSON.stringify({ create_request: { key: b64('c/'), range_end: b64('c0'), watch_id: 3 } }));
  await st.waitFor(3);
  assert.is(st.status, 200);
  assert.match(st.headers, /\r\nTransfer-Encoding: chunked/i);
  // many small events, some for two or three watchers at once (shared event bytes)
  for (let i = 0; i < 60; i++) await post('/v3/kv/put', { key: b64(i % 3 === 0 ? 'c/a' : `c/k${i}`), value: b64(`v${i}`) });
  // big events: one write each must still be one chunk (and bigger than a socket buffer)
  const big = 'x'.repeat(300_000);
  for (let i = 0; i < 3; i++) await post('/v3/kv/put', { key: b64('c/a'), value: b64(big + i) });
  // a txn: several events in one response
  await post('/v3/kv/txn', { success: [{ request_put: { key: b64('c/t1'), value: b64('1') } }, { request_delete_range: { key: b64('c/k1') } }] });
  const expected = 3 + 60 + 20 /* watch 2 */ + 60 + 3 * 3 + 2;
  // Events reach a watch just after the put is answered: all of them first, so the progress
  // response (which follows every event sent before it) comes last, as asserted below.
  await st.waitFor(expected);
  st.send('{"progress_request":{}}');
  st.send('{"cancel_request":{"watch_id":2}}');
  const msgs = await st.waitFor(expected + 2);
  const r = msgs.map((m) => m.result);
  assert.ok(r.every(Boolean), 'every message is a result');
  assert.is(r.filter((x) => x.created).length, 3);
  const events = (id: string) => r.filter((x) => x.watch_id === id && x.events).flatMap((x) => x.events);
  assert.is(events('1').length, 60 + 3 + 2);
  assert.is(events('2').length, 20 + 3);
  assert.is(events('3').length, 60 + 3 + 2);
  assert.ok(events('1').some((e: any) => e.prev_kv?.value === b64(big + 0)), 'prev_kv of a big value arrived whole');
  assert.is(r.at(-2).watch_id, '-1'); // progress
  assert.equal([r.at(-1).watch_id, r.at(-1).canceled], ['2', true]);
  st.close();
});

test('fragments and error lines are one chunk each', async () => {
  // values large enough that a catch-up response of 3 of them passes the 2 MiB fragment limit
  const start = (await post('/v3/kv/put', { key: b64('f/a'), value: b64('y'.repeat(900_000)) })).header.revision;
  await post('/v3/kv/put', { key: b64('f/b'), value: b64('z'.repeat(900_000)) });
  await post('/v3/kv/put', { key: b64('f/c'), value: b64('w'.repeat(900_000)) });
  const st = new RawStream(s.url, '/v3/watch');
  st.send(JSON.stringify({ create_request: { key: b64('f/'), range_end: b64('f0'), start_revision: start, fragment: true } }));
  st.send('{"create_request":{"key":"@@@"}}'); // a later malformed request: an in-stream error line
  // created, the error line, and the fragments (one 1.2 MB event each): wait for all 3 events
  let msgs = await st.waitFor(4);
  for (let t = 0; t < 400 && msgs.flatMap((m) => m.result?.events ?? []).length < 3; t++) {
    await new Promise((r) => setTimeout(r, 25));
    msgs = st.messages();
  }
  const frags = msgs.filter((m) => m.result?.events);
  assert.ok(frags.length >= 2, 'the catch-up response was fragmented');
  assert.is(frags.slice(0, -1).every((m) => m.result.fragment === true), true);
  assert.is(frags.at(-1).result.fragment, undefined);
  assert.is(frags.flatMap((m) => m.result.events).length, 3);
  const err = msgs.find((m) => m.error);
  assert.equal(err.error, { grpc_code: 3, http_code: 400, message: 'illegal base64 data at input byte 0', http_status: 'Bad Request' });
  st.close();
});

test('lease keep-alive stream: one chunk per response', async () => {
  const { ID } = await post('/v3/lease/grant', { TTL: 60 });
  const st = new RawStream(s.url, '/v3/lease/keepalive');
  for (let i = 0; i < 20; i++) st.send(JSON.stringify({ ID }));
  const msgs = await st.waitFor(20);
  assert.is(msgs.length, 20);
  assert.ok(msgs.every((m) => m.result.ID === ID && m.result.TTL === '60'));
  st.close();
});

test.run();
