/**
 * Watch over streaming HTTP POST /v3/watch: requests answered as soon as each object is complete
 * (the body still open), concatenated objects, a bad first message as a 400, a bad later one as
 * an in-stream error line, and exact bytes/headers of the stream.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { startTestServer, type TestServer } from '../support/test-server.ts';

let s: TestServer;

interface Stream {
  status: Promise<number>;
  headers: Promise<http.IncomingHttpHeaders>;
  lines: string[];
  req: http.ClientRequest;
  waitLines(n: number): Promise<string[]>;
}

function openStream(firstBody: string): Stream {
  const url = new URL('/v3/watch', s.url);
  const lines: string[] = [];
  let buf = '';
  let resolveStatus!: (n: number) => void;
  let resolveHeaders!: (h: http.IncomingHttpHeaders) => void;
  const status = new Promise<number>((r) => (resolveStatus = r));
  const headers = new Promise<http.IncomingHttpHeaders>((r) => (resolveHeaders = r));
  const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST' }, (res) => {
    resolveStatus(res.statusCode!);
    resolveHeaders(res.headers);
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      buf += c;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      if (res.statusCode !== 200 && buf) lines.push(buf), (buf = '');
    });
  });
  req.on('error', () => {});
  req.write(firstBody);
  return {
    status,
    headers,
    lines,
    req,
    async waitLines(n) {
      for (let t = 0; t < 200 && lines.length < n; t++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(lines.length >= n, `expected ${n} lines, got ${lines.join('\n')}`);
      return lines.slice(0, n);
    },
  };
}

async function put(key: string, value: string): Promise<void> {
  await (await fetch(s.url + '/v3/kv/put', { method: 'POST', body: JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') }) })).text();
}

test.before(async () => {
  s = await startTestServer({}, { memory: true });
});
test.after(async () => s.stop());

test('answers each request while the body is still open; full duplex over one POST', async () => {
  const st = openStream('{"create_request":{"key":"YQ=="}}');
  assert.is(await st.status, 200);
  const h = await st.headers;
  assert.is(h['content-type'], 'application/json');
  assert.is(h['transfer-encoding'], 'chunked');
  assert.is(h['grpc-metadata-content-type'], 'application/grpc');
  const [created] = await st.waitLines(1);
  assert.match(created!, /^\{"result":\{"header":\{"cluster_id":"\d+","member_id":"\d+","revision":"1","raft_term":"2"\},"created":true\}\}$/);
  await put('a', 'v1');
  const [, ev] = await st.waitLines(2);
  assert.is(JSON.parse(ev!).result.events[0].kv.value, Buffer.from('v1').toString('base64'));
  // two concatenated requests in one write, no newline; then a malformed one: in-stream error line
  st.req.write('{"create_request":{"key":"Yg==","watch_id":7}}{"progress_request":{}}');
  const l = await st.waitLines(4);
  assert.is(JSON.parse(l[2]!).result.watch_id, '7');
  assert.is(JSON.parse(l[3]!).result.watch_id, '-1');
  st.req.write('{"create_request":{"key":"@@@"}}');
  const e = JSON.parse((await st.waitLines(5))[4]!);
  assert.is(e.error.grpc_code, 3);
  assert.is(e.error.http_code, 400);
  assert.is(e.error.message, 'illegal base64 data at input byte 0');
  st.req.write('{"cancel_request":{"watch_id":7}}');
  assert.is(JSON.parse((await st.waitLines(6))[5]!).result.canceled, true);
  // the body ends: the stream stays open for events
  st.req.end();
  await new Promise((r) => setTimeout(r, 50));
  await put('a', 'v2');
  const last = JSON.parse((await st.waitLines(7))[6]!);
  assert.is(last.result.events[0].kv.value, Buffer.from('v2').toString('base64'));
  st.req.destroy();
});

test('malformed first message: HTTP 400 with code 3', async () => {
  for (const [body, msg] of [
    ['not json', "invalid character 'n' looking for beginning of value"],
    ['{"create_request":{"key":"@@@"}}', 'illegal base64 data at input byte 0'],
    ['{"create_request":{"key":"YQ==","filters":["NOPE"]}}', 'unknown value "NOPE" for enum etcdserverpb.WatchCreateRequest_FilterType'],
  ] as const) {
    const r = await fetch(s.url + '/v3/watch', { method: 'POST', body });
    assert.is(r.status, 400, body);
    const m = JSON.stringify(msg);
    assert.is(await r.text(), `{"error":${m},"message":${m},"code":3}`);
  }
});

test.run();
