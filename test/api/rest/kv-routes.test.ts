/**
 * Plain REST /v1/kv over real HTTP: keys as percent-encoded bytes, values as raw bodies, JSON
 * numbers for revisions, ETag preconditions, history reads, prefix listings, and every error in
 * the one JSON shape `{"error","message","code"}` with a 4xx status.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/test-server.ts';

let s: TestServer;

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: any;
  bytes: Buffer;
}

async function call(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(s.url + path, { method, body, headers });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed, bytes };
}

/** Every byte as %XX: the URL form of any key. */
const enc = (b: Buffer): string => [...b].map((x) => '%' + x.toString(16).padStart(2, '0').toUpperCase()).join('');

function expectError(r: Reply, status: number, code: number, pattern?: RegExp): void {
  assert.is(r.status, status, r.text);
  assert.is(r.headers.get('content-type'), 'application/json');
  assert.equal(Object.keys(r.body).sort(), ['code', 'error', 'message'], r.text);
  assert.is(r.body.code, code);
  assert.is(r.body.error, r.body.message);
  if (pattern) assert.match(r.body.message, pattern);
}

test.before(async () => {
  s = await startTestServer({ maxRequestBytes: 4096 }, { memory: true });
});
test.after(async () => s.stop());

test('PUT then GET: JSON numbers, ETag = mod_revision, X-Watchkv-Revision = store revision', async () => {
  const p = await call('PUT', '/v1/kv/app/config', 'hello');
  assert.is(p.status, 200, p.text);
  const rev = p.body.revision;
  assert.type(rev, 'number');
  assert.equal(p.body, { revision: rev });
  assert.is(p.headers.get('etag'), `"${rev}"`);
  assert.is(p.headers.get('x-watchkv-revision'), String(rev));
  await call('PUT', '/v1/kv/other', 'x');
  const g = await call('GET', '/v1/kv/app/config');
  assert.is(g.status, 200);
  assert.equal(g.body, { key: 'app/config', value: 'hello', create_revision: rev, mod_revision: rev, version: 1, lease: '0' });
  assert.is(g.headers.get('etag'), `"${rev}"`);
  assert.is(g.headers.get('x-watchkv-revision'), String(rev + 1));
  // "/a/b" is the key "/a/b", not base64 that happens to decode (the gateway's trap).
  await call('PUT', '/v1/kv//a/b', 'v');
  const viaGateway = await call('POST', '/v3/kv/range', JSON.stringify({ key: Buffer.from('/a/b').toString('base64') }));
  assert.is(Buffer.from(viaGateway.body.kvs[0].value, 'base64').toString(), 'v');
});

test('the key is the percent-decoded path: every byte 0x00-0xFF round-trips', async () => {
  const key = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const p = await call('PUT', '/v1/kv/' + enc(key), 'all-bytes');
  assert.is(p.status, 200, p.text);
  const g = await call('GET', '/v1/kv/' + enc(key));
  assert.is(g.status, 200, g.text);
  assert.is(Buffer.from(g.body.key_base64, 'base64').compare(key), 0);
  assert.is(g.body.key, undefined);
  // The exact bytes reached the store, as the etcd gateway shows.
  const r = await call('POST', '/v3/kv/range', JSON.stringify({ key: key.toString('base64') }));
  assert.is(r.body.kvs.length, 1);
  // Reserved characters, encoded, are part of the key; a raw UTF-8 character is its bytes.
  await call('PUT', '/v1/kv/q%3Fx%23y%2Fz%25', '1');
  assert.is((await call('GET', '/v1/kv/q%3Fx%23y%2Fz%25')).body.key, 'q?x#y/z%');
  await call('PUT', '/v1/kv/caf%C3%A9', '2');
  assert.is((await call('GET', '/v1/kv/café')).body.key, 'café');
  // Single bytes that are not UTF-8 on their own are distinct keys.
  for (const b of [0x80, 0xc3, 0xff]) await call('PUT', `/v1/kv/byte-${enc(Buffer.of(b))}`, String(b));
  const list = await call('GET', '/v1/kv/byte-?prefix');
  assert.equal(list.body.kvs.map((k: any) => k.value), ['128', '195', '255']);
  assert.equal(list.body.kvs.map((k: any) => Buffer.from(k.key_base64, 'base64').at(-1)), [0x80, 0xc3, 0xff]);
});

test('non-UTF-8 values come back as value_base64; ?raw gives the exact bytes', async () => {
  const value = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3]);
  await call('PUT', '/v1/kv/bin', value, { 'content-type': 'application/octet-stream' });
  const g = await call('GET', '/v1/kv/bin');
  assert.is(g.body.value, undefined);
  assert.is(Buffer.from(g.body.value_base64, 'base64').compare(value), 0);
  const raw = await call('GET', '/v1/kv/bin?raw');
  assert.is(raw.status, 200);
  assert.is(raw.headers.get('content-type'), 'application/octet-stream');
  assert.is(raw.bytes.compare(value), 0);
  assert.is(raw.headers.get('etag'), `"${g.body.mod_revision}"`);
  // Any content type is a raw value, JSON included (stored as the text, not parsed).
  await call('PUT', '/v1/kv/json', '{"a": 1}', { 'content-type': 'application/json' });
  assert.is((await call('GET', '/v1/kv/json')).body.value, '{"a": 1}');
  // No body = the empty value.
  await call('PUT', '/v1/kv/empty');
  assert.is((await call('GET', '/v1/kv/empty')).body.value, '');
});

test('If-Match compare-and-swap and If-None-Match create-only answer 412 when they do not hold', async () => {
  const created = await call('PUT', '/v1/kv/cas', 'v1', { 'if-none-match': '*' });
  assert.is(created.status, 200, created.text);
  const r1 = created.body.revision;
  expectError(await call('PUT', '/v1/kv/cas', 'again', { 'if-none-match': '*' }), 412, 9, /If-None-Match/);
  expectError(await call('PUT', '/v1/kv/cas', 'v2', { 'if-match': `"${r1 - 1}"` }), 412, 9, new RegExp(`mod_revision ${r1}`));
  expectError(await call('PUT', '/v1/kv/cas', 'v2', { 'if-match': `W/"${r1}"` }), 412, 9); // weak tags never match
  assert.is((await call('GET', '/v1/kv/cas')).body.value, 'v1', 'a failed precondition writes nothing');
  const ok = await call('PUT', '/v1/kv/cas', 'v2', { 'if-match': `"1", "${r1}"` });
  assert.is(ok.status, 200, ok.text);
  const r2 = ok.body.revision;
  assert.is(ok.headers.get('etag'), `"${r2}"`);
  expectError(await call('PUT', '/v1/kv/cas', 'v3', { 'if-match': `"${r1}"` }), 412, 9); // the tag is stale now
  expectError(await call('PUT', '/v1/kv/absent', 'v', { 'if-match': '*' }), 412, 9, /does not exist/);
  expectError(await call('PUT', '/v1/kv/cas', 'v', { 'if-none-match': `"${r2}"` }), 412, 9);
  // GET with a matching If-None-Match: 304, no body.
  const cached = await call('GET', '/v1/kv/cas', undefined, { 'if-none-match': `"${r2}"` });
  assert.is(cached.status, 304);
  assert.is(cached.text, '');
  assert.is((await call('GET', '/v1/kv/cas', undefined, { 'if-none-match': `"${r1}"` })).status, 200);
  // DELETE: same rules.
  expectError(await call('DELETE', '/v1/kv/cas', undefined, { 'if-match': `"${r1}"` }), 412, 9);
  assert.is((await call('GET', '/v1/kv/cas')).status, 200);
  const del = await call('DELETE', '/v1/kv/cas', undefined, { 'if-match': `"${r2}"` });
  assert.equal(del.body, { revision: del.body.revision, deleted: 1 });
  assert.is((await call('GET', '/v1/kv/cas')).status, 404);
  expectError(await call('DELETE', '/v1/kv/p/?prefix', undefined, { 'if-match': '*' }), 400, 3, /prefix/);
});

test('concurrent If-Match writers: exactly one wins, the others get 412', async () => {
  const r = (await call('PUT', '/v1/kv/race', '0')).body.revision;
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => call('PUT', '/v1/kv/race', String(i + 1), { 'if-match': `"${r}"` })));
  assert.is(results.filter((x) => x.status === 200).length, 1, results.map((x) => x.status).join());
  assert.is(results.filter((x) => x.status === 412).length, 7);
  const g = await call('GET', '/v1/kv/race');
  assert.is(g.body.version, 2);
});

test('?rev reads history; compacted and future revisions are 400 OutOfRange', async () => {
  const a = (await call('PUT', '/v1/kv/h', 'one')).body.revision;
  const b = (await call('PUT', '/v1/kv/h', 'two')).body.revision;
  await call('DELETE', '/v1/kv/h');
  expectError(await call('GET', '/v1/kv/h'), 404, 5, /not found/);
  assert.is((await call('GET', `/v1/kv/h?rev=${a}`)).body.value, 'one');
  const old = await call('GET', `/v1/kv/h?rev=${b}`);
  assert.equal([old.body.value, old.body.version, old.body.create_revision], ['two', 2, a]);
  assert.is(old.headers.get('x-watchkv-revision'), String(b + 1), 'the header is the store revision, as etcd');
  expectError(await call('GET', `/v1/kv/h?rev=${a - 1}`), 404, 5, /at revision/);
  expectError(await call('GET', '/v1/kv/h?rev=999999'), 400, 11, /future/);
  await call('POST', '/v3/kv/compaction', JSON.stringify({ revision: b }));
  expectError(await call('GET', `/v1/kv/h?rev=${a}`), 400, 11, /compacted/);
  expectError(await call('GET', '/v1/kv/h?rev=-1'), 400, 3, /rev/);
});

test('?prefix lists with limit, keys_only and rev; DELETE ?prefix', async () => {
  const revs: number[] = [];
  for (const k of ['b', 'a', 'c']) revs.push((await call('PUT', `/v1/kv/list/${k}`, `v-${k}`)).body.revision);
  await call('PUT', '/v1/kv/lisT', 'outside');
  const all = await call('GET', '/v1/kv/list/?prefix');
  assert.is(all.status, 200);
  assert.equal(Object.keys(all.body), ['revision', 'count', 'kvs', 'more']);
  assert.equal(all.body.kvs.map((k: any) => [k.key, k.value]), [['list/a', 'v-a'], ['list/b', 'v-b'], ['list/c', 'v-c']]);
  assert.is(all.body.more, false);
  const page = await call('GET', '/v1/kv/list/?prefix&limit=2&keys_only');
  assert.equal(page.body.kvs.map((k: any) => k.key), ['list/a', 'list/b']);
  assert.is(page.body.kvs[0].value, undefined);
  assert.is(page.body.more, true);
  assert.is(page.body.count, 3);
  const past = await call('GET', `/v1/kv/list/?prefix=true&rev=${revs[1]}`);
  assert.equal(past.body.kvs.map((k: any) => k.key), ['list/a', 'list/b']);
  assert.is(String(past.body.revision), past.headers.get('x-watchkv-revision'));
  // A prefix of 0xFF bytes runs to the end of the keyspace.
  await call('PUT', '/v1/kv/%FF%FFz', 'high');
  assert.equal((await call('GET', '/v1/kv/%FF%FF?prefix')).body.kvs.map((k: any) => k.value), ['high']);
  const del = await call('DELETE', '/v1/kv/list/?prefix');
  assert.equal(del.body, { revision: del.body.revision, deleted: 3 });
  assert.is((await call('GET', '/v1/kv/list/?prefix')).body.kvs.length, 0);
  assert.is((await call('GET', '/v1/kv/lisT')).body.value, 'outside');
  expectError(await call('GET', '/v1/kv/x?prefix&limit=ten'), 400, 3, /limit/);
  expectError(await call('GET', '/v1/kv/x?prefix=maybe'), 400, 3, /prefix/);
});

test('?lease is passed to the store as the key lease', async () => {
  const p = await call('PUT', '/v1/kv/leased?lease=0', 'v');
  assert.is(p.status, 200, p.text);
  expectError(await call('PUT', '/v1/kv/leased?lease=abc', 'v'), 400, 3, /lease/);
  expectError(await call('PUT', '/v1/kv/leased?lease=9223372036854775808', 'v'), 400, 3, /lease/);
});

test('errors: one JSON shape, 4xx, a message that says what is wrong', async () => {
  expectError(await call('GET', '/v1/kv/missing'), 404, 5, /key not found/);
  expectError(await call('PUT', '/v1/kv/', 'v'), 400, 3, /key is not provided/);
  expectError(await call('GET', '/v1/kv/'), 400, 3, /key is not provided/);
  expectError(await call('GET', '/v1/kv/bad%zzkey'), 400, 3, /percent-encoding/);
  expectError(await call('GET', '/v1/kv/bad%F'), 400, 3, /percent-encoding/);
  expectError(await call('PUT', '/v1/kv/big', 'x'.repeat(5000)), 400, 3, /too large/);
  expectError(await call('PUT', '/v1/kv/huge', Buffer.alloc(4096 + 600 * 1024)), 429, 8, /larger than max/);
  const del = await call('DELETE', '/v1/kv/never-there');
  assert.equal(del.body, { revision: del.body.revision, deleted: 0 });
});

test.run();
