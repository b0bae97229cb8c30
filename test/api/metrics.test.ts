/**
 * /metrics over real HTTP: Prometheus text that parses, etcd's metric names, and values that
 * follow the store and the watchers (keys put and deleted, watch streams opened and closed, SSE
 * traffic, answered and rejected requests), plus Node's process metrics.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { SseClient } from '../support/sse-client.ts';
import { openWsWatch } from '../support/http-client.ts';
import { Etcd3 } from 'etcd3';

let s: TestServer;

/** Parses the text format: `name{labels} value` lines into a map; HELP/TYPE lines are checked. */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${s.url}/metrics`);
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const out = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) typed.add(t[1]!);
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `not a metric line: ${line}`);
    // Prometheus allows NaN (prom-client writes "Nan") and ±Inf besides decimal numbers.
    const value = /^nan$/i.test(m![3]!) ? NaN : Number(m![3]!.replace(/Inf$/, 'Infinity'));
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(m![3]!), line);
    out.set(m![1]! + (m![2] ?? ''), value);
    const base = m![1]!.replace(/_(bucket|sum|count)$/, '');
    assert.ok(typed.has(m![1]!) || typed.has(base), `no TYPE line for ${m![1]}`);
  }
  return out;
}

const get = (m: Map<string, number>, name: string): number => {
  const v = m.get(name);
  assert.ok(v !== undefined, `metric ${name} missing`);
  return v!;
};

async function put(key: string, value: string): Promise<void> {
  assert.is((await fetch(`${s.url}/v1/kv/${key}`, { method: 'PUT', body: value })).status, 200);
}

async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out: ${what}`);
}

test.before(async () => {
  s = await startTestServer({}, { memory: true });
});
test.after(async () => s.stop());

test('etcd names and values that follow the keys', async () => {
  const m0 = await scrape();
  assert.is(get(m0, 'etcd_debugging_mvcc_keys_total'), 0);
  const rev0 = get(m0, 'etcd_debugging_mvcc_current_revision');
  for (const k of ['a', 'b', 'c']) await put(k, 'v');
  await put('a', 'again');
  await fetch(`${s.url}/v1/kv/b`, { method: 'DELETE' });
  const m1 = await scrape();
  assert.is(get(m1, 'etcd_debugging_mvcc_keys_total'), 2);
  assert.is(get(m1, 'etcd_debugging_mvcc_current_revision'), rev0 + 5);
  assert.is(get(m1, 'etcd_mvcc_put_total') - (m0.get('etcd_mvcc_put_total') ?? 0), 4);
  assert.is(get(m1, 'etcd_mvcc_delete_total') - (m0.get('etcd_mvcc_delete_total') ?? 0), 1);
  assert.ok(get(m1, 'etcd_mvcc_db_total_size_in_bytes') >= 0);
  assert.is(get(m1, 'etcd_server_quota_backend_bytes'), 2 * 1024 ** 3);
  assert.is(get(m1, 'watchkv_alarms{alarm="NOSPACE"}'), 0);
  const alarm = (action: string) => fetch(`${s.url}/v3/maintenance/alarm`, { method: 'POST', body: JSON.stringify({ action, memberID: '1', alarm: 'NOSPACE' }) });
  assert.is((await alarm('ACTIVATE')).status, 200);
  assert.is(get(await scrape(), 'watchkv_alarms{alarm="NOSPACE"}'), 1);
  assert.is((await alarm('DEACTIVATE')).status, 200);
  assert.is(get(await scrape(), 'watchkv_alarms{alarm="NOSPACE"}'), 0);
  await fetch(`${s.url}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: rev0 + 4 }) });
  assert.is(get(await scrape(), 'etcd_debugging_mvcc_compact_revision'), rev0 + 4);
  // Node process metrics are there too.
  assert.ok(get(m1, 'process_cpu_user_seconds_total') >= 0);
  assert.ok(get(m1, 'nodejs_heap_size_used_bytes') > 0);
});

test('watcher and stream gauges follow SSE and WebSocket watches; SSE traffic is counted', async () => {
  const m0 = await scrape();
  assert.is(get(m0, 'etcd_debugging_mvcc_watcher_total'), 0);
  assert.is(get(m0, 'watchkv_sse_streams'), 0);
  const sse = await SseClient.open(`${s.url}/v1/watch/w/?prefix`);
  const ws = await openWsWatch(s.url);
  ws.send({ create_request: { key: Buffer.from('w').toString('base64') } });
  await ws.waitFor((m) => m.result?.created);
  await sse.until(() => sse.messages.length >= 1, 'sse start');
  const m1 = await scrape();
  assert.is(get(m1, 'etcd_debugging_mvcc_watcher_total'), 2);
  assert.is(get(m1, 'etcd_debugging_mvcc_watch_stream_total'), 2);
  assert.is(get(m1, 'watchkv_sse_streams'), 1);
  assert.is(get(m1, 'etcd_debugging_mvcc_slow_watcher_total'), 0);
  await put('w/1', 'hello');
  await sse.until(() => sse.of('change').length === 1, 'the change');
  const m2 = await scrape();
  assert.is(get(m2, 'watchkv_sse_events_sent_total') - get(m1, 'watchkv_sse_events_sent_total'), 1);
  assert.is(get(m2, 'watchkv_sse_messages_total') - get(m1, 'watchkv_sse_messages_total'), 1);
  assert.ok(get(m2, 'watchkv_sse_bytes_sent_total') - get(m1, 'watchkv_sse_bytes_sent_total') > 50);
  sse.close();
  await ws.close();
  await until(async () => get(await scrape(), 'etcd_debugging_mvcc_watcher_total') === 0, 'watchers gone');
  const m3 = await scrape();
  assert.is(get(m3, 'watchkv_sse_streams'), 0);
  assert.is(get(m3, 'etcd_debugging_mvcc_watch_stream_total'), 0);
});

test('per transport: open streams, messages, events and bytes for WebSocket, streaming HTTP, gRPC and SSE', async () => {
  const m0 = await scrape();
  const of = (m: Map<string, number>, name: string, t: string): number => get(m, `${name}{transport="${t}"}`);
  for (const t of ['websocket', 'http', 'grpc', 'sse']) assert.is(of(m0, 'watchkv_watch_streams', t), 0, t);
  const key = Buffer.from('pt/k').toString('base64');
  // WebSocket.
  const ws = await openWsWatch(s.url);
  ws.send({ create_request: { key } });
  await ws.waitFor((m) => m.result?.created);
  // Streaming HTTP, read as a gateway client does.
  const http = await fetch(`${s.url}/v3/watch`, { method: 'POST', body: JSON.stringify({ create_request: { key } }) });
  const reader = http.body!.getReader();
  let httpText = '';
  const readHttp = (async () => {
    for (;;) {
      const r = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (r.done) return;
      httpText += Buffer.from(r.value!).toString();
    }
  })();
  // gRPC, through the npm etcd3 client.
  const etcd = new Etcd3({ hosts: s.url.replace('http://', '') });
  const grpcEvents: string[] = [];
  const watcher = await etcd.watch().key('pt/k').create();
  watcher.on('put', (kv) => grpcEvents.push(kv.value.toString()));
  const sse = await SseClient.open(`${s.url}/v1/watch/pt/k`);
  await sse.until(() => sse.messages.length >= 1, 'sse start');
  const m1 = await scrape();
  for (const t of ['websocket', 'http', 'grpc', 'sse']) assert.is(of(m1, 'watchkv_watch_streams', t), 1, `${t} stream open`);
  await put('pt/k', 'hello');
  await ws.waitFor((m) => (m.result?.events?.length ?? 0) > 0);
  await until(async () => httpText.includes('"events"') && grpcEvents.length === 1 && sse.of('change').length === 1, 'every transport got the event');
  const m2 = await scrape();
  for (const t of ['websocket', 'http', 'grpc', 'sse']) {
    assert.is(of(m2, 'watchkv_watch_events_sent_total', t) - of(m1, 'watchkv_watch_events_sent_total', t), 1, `${t}: one event`);
    assert.ok(of(m2, 'watchkv_watch_messages_sent_total', t) >= 1, `${t}: messages`);
    assert.ok(of(m2, 'watchkv_watch_bytes_sent_total', t) - of(m1, 'watchkv_watch_bytes_sent_total', t) > 20, `${t}: bytes`);
  }
  watcher.removeAllListeners();
  await watcher.cancel();
  etcd.close();
  await reader.cancel();
  await readHttp;
  await ws.close();
  sse.close();
  await until(async () => {
    const m = await scrape();
    return ['websocket', 'http', 'grpc', 'sse'].every((t) => of(m, 'watchkv_watch_streams', t) === 0);
  }, 'every stream closed');
});

test('requests are counted by route pattern and status; rejections by reason', async () => {
  await fetch(`${s.url}/v1/kv/nope`);
  await fetch(`${s.url}/v1/kv/bad%zz`);
  const m = await scrape();
  assert.ok(get(m, 'watchkv_http_requests_total{method="GET",route="/v1/kv/*",status="404"}') >= 1);
  assert.ok(get(m, 'watchkv_http_requests_total{method="PUT",route="/v1/kv/*",status="200"}') >= 4);
  assert.ok(get(m, 'watchkv_http_rejected_total{reason="ERR_NOT_FOUND"}') >= 1);
  assert.ok(get(m, 'watchkv_http_rejected_total{reason="ERR_INVALID_ARGUMENT"}') >= 1);
  assert.not.ok([...m.keys()].some((k) => k.includes('nope')), 'keys never become label values');
});

test.run();
