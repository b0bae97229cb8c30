/**
 * Property-based fuzzing (fast-check) of every HTTP endpoint body and of WebSocket watch frames.
 * Properties, per generated input:
 *   - a unary endpoint answers 200 with a JSON body carrying a header (the input happened to be
 *     valid), or a 4xx with JSON {error, message, code} — never a 5xx, never a non-JSON body;
 *   - the streaming POST /v3/watch answers within a bound (a refused first message is an HTTP
 *     error with the JSON error body; etcd uses 500/code 2 for it, so 500 is allowed there only);
 *   - a WebSocket frame gets only well-formed frames back ({"result":…} or {"error":…}), and the
 *     server still serves a new watch afterwards;
 *   - the server never crashes or hangs, and a canary key written first stays intact.
 * Replay with TEST_SEED=<seed> (fast-check seed); TEST_FUZZ_RUNS scales the run count.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { watchkvConfig } from '../support/etcd-pair.ts';
import { b64, openWsWatch, post } from '../support/http-client.ts';
import { testSeed } from '../support/rng.ts';

const SEED = testSeed();
const RUNS = Number(process.env.TEST_FUZZ_RUNS) || 300;
// Sorts below "/fz/…"; the delete generators leave out every range that covers it.
const CANARY = '\x01\x01canary';
let server: RunningServer;
let dir = '';
let canaryRev = '';

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'watchkv-fuzz-'));
  server = await startServer(watchkvConfig(dir), new MemoryBackend());
  const r = await post(server.address, '/v3/kv/put', { key: b64(CANARY), value: b64('alive') });
  canaryRev = r.body.header.revision;
});
test.after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function canaryIntact(): Promise<void> {
  const r = await post(server.address, '/v3/kv/range', { key: b64(CANARY) });
  assert.is(r.status, 200, 'the server still answers');
  assert.is(r.body.kvs?.[0]?.mod_revision, canaryRev, 'canary untouched');
  assert.is(Buffer.from(r.body.kvs[0].value, 'base64').toString(), 'alive');
}

// ---- generators ----
const fzKey = fc.string({ maxLength: 6 }).map((s) => b64('/fz/' + s));
const weird = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('9223372036854775808', '-1', '1e3', '0x10', '', 'AA==', '@@@', 'NaN', '18446744073709551616', '-9223372036854775809'),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);
const val = fc.oneof({ weight: 3, arbitrary: fzKey }, { weight: 2, arbitrary: weird });
const enumish = fc.oneof(fc.constantFrom('NONE', 'ASCEND', 'DESCEND', 'KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE', 'EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL', 'NOPUT', 'NODELETE', 'BOGUS'), fc.integer({ min: -2, max: 9 }), weird);

function fields(names: string[], extra: Record<string, fc.Arbitrary<unknown>> = {}): fc.Arbitrary<Record<string, unknown>> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const n of names) model[n] = val;
  return fc.record({ ...model, ...extra }, { requiredKeys: [] });
}

const rangeBody = fields(['key', 'range_end', 'limit', 'revision', 'keys_only', 'count_only', 'min_mod_revision', 'max_mod_revision', 'min_create_revision', 'max_create_revision', 'serializable'], { sort_order: enumish, sort_target: enumish });
const putBody = fields(['key', 'value', 'lease', 'prev_kv', 'ignore_value', 'ignore_lease']);
// A fuzzed range may legitimately cover the canary ("\0" to "\0" is every key; "\0" to "/fz/x"
// spans it too): such deletes are valid requests, so they are left out rather than special-cased.
const delBody = fields(['key', 'range_end', 'prev_kv']).filter((b) => !coversCanary(b));

function coversCanary(b: Record<string, unknown>): boolean {
  const bytes = (v: unknown): Buffer | undefined => (typeof v === 'string' ? Buffer.from(v, 'base64') : undefined);
  const key = bytes(b.key) ?? Buffer.alloc(0);
  const end = bytes(b.range_end);
  const canary = Buffer.from(CANARY);
  if (end === undefined || end.length === 0) return key.equals(canary);
  if (key.length === 0) return false; // key not provided: refused
  const toInfinity = end.length === 1 && end[0] === 0;
  return Buffer.compare(key, canary) <= 0 && (toInfinity || Buffer.compare(canary, end) < 0);
}
const compareBody = fields(['key', 'range_end', 'version', 'create_revision', 'mod_revision', 'value', 'lease'], { target: enumish, result: enumish });
const { txn } = fc.letrec((tie) => ({
  op: fc.oneof(
    { depthSize: 'small' },
    rangeBody.map((b) => ({ request_range: b })),
    putBody.map((b) => ({ request_put: b })),
    delBody.map((b) => ({ request_delete_range: b })),
    tie('txn').map((b) => ({ request_txn: b })),
    weird.map((w) => ({ request_put: w })),
  ),
  txn: fc.record({ compare: fc.oneof(fc.array(compareBody, { maxLength: 3 }), weird), success: fc.oneof(fc.array(tie('op'), { maxLength: 3 }), weird), failure: fc.oneof(fc.array(tie('op'), { maxLength: 3 }), weird) }, { requiredKeys: [] }),
}));
const compactBody = fields(['revision', 'physical']);
const watchCreate = fields(['key', 'range_end', 'start_revision', 'progress_notify', 'prev_kv', 'watch_id', 'fragment'], { filters: fc.oneof(fc.array(enumish, { maxLength: 3 }), weird) });
const watchReq = fc.oneof(
  watchCreate.map((c) => ({ create_request: c })),
  fc.record({ watch_id: val }, { requiredKeys: [] }).map((c) => ({ cancel_request: c })),
  fc.constant({ progress_request: {} }),
  fc.dictionary(fc.string({ maxLength: 8 }), weird, { maxKeys: 3 }),
);

/** A body: mostly a structured object serialised, sometimes raw junk text or bytes. */
function bodies(structured: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: structured.map((o) => JSON.stringify(o)) },
    { weight: 1, arbitrary: fc.json() },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u).toString('latin1')) },
    { weight: 1, arbitrary: structured.map((o) => JSON.stringify(o).slice(0, -1)) }, // truncated
  );
}

function assertUnaryAnswer(path: string, body: string, r: { status: number; body: any; json: boolean }): void {
  const ctx = `${path} ${JSON.stringify(body).slice(0, 300)} → ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`;
  assert.ok(r.json, `non-JSON answer: ${ctx}`);
  if (r.status === 200) {
    assert.ok(r.body && typeof r.body === 'object' && r.body.header, `200 without a header: ${ctx}`);
    return;
  }
  assert.ok(r.status >= 400 && r.status < 500, `not a 4xx: ${ctx}`);
  assert.type(r.body.error, 'string', ctx);
  assert.type(r.body.message, 'string', ctx);
  assert.type(r.body.code, 'number', ctx);
}

const ENDPOINTS: Array<[string, fc.Arbitrary<unknown>]> = [
  ['/v3/kv/range', rangeBody],
  ['/v3/kv/put', putBody],
  ['/v3/kv/deleterange', delBody],
  ['/v3/kv/txn', txn],
  ['/v3/kv/compaction', compactBody],
  ['/v3/maintenance/status', fc.dictionary(fc.string({ maxLength: 5 }), weird, { maxKeys: 2 })],
];

for (const [path, structured] of ENDPOINTS) {
  test(`fuzz POST ${path} (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(bodies(structured), async (body) => {
        const r = await post(server.address, path, body, 5000);
        assertUnaryAnswer(path, body, r);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    await canaryIntact();
  });
}

test('fuzz POST /v3/watch (streaming): bounded answer, JSON error on refusal', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(watchReq.map((o) => JSON.stringify(o)), bodies(watchReq)), async (body) => {
      const r = await rawWatch(body);
      const ctx = `${JSON.stringify(body).slice(0, 300)} → ${r.status} ${r.text.slice(0, 300)}`;
      if (r.status === 200) {
        for (const line of r.text.split('\n').filter((l) => l.trim())) {
          const m = JSON.parse(line);
          assert.ok(m.result || m.error, `stream line is neither result nor error: ${ctx}`);
        }
      } else {
        assert.ok((r.status >= 400 && r.status < 500) || r.status === 500, `refusal status: ${ctx}`);
        const m = JSON.parse(r.text);
        assert.ok(typeof m.error === 'string' && typeof m.code === 'number', `refusal body: ${ctx}`);
      }
    }),
    { numRuns: Math.ceil(RUNS / 3), seed: SEED },
  );
  await canaryIntact();
});

/** POST raw text to /v3/watch; reads for up to 300 ms (a healthy watch never ends by itself). */
async function rawWatch(body: string): Promise<{ status: number; text: string }> {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = http.request(new URL('/v3/watch', server.address), { method: 'POST' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      const done = () => {
        clearTimeout(t);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, text });
      };
      const t = setTimeout(done, 300);
      res.on('end', done);
      res.on('error', done);
    });
    // No response at all is what etcd does for an empty or unknown-only body; bound it.
    const hang = setTimeout(() => {
      req.destroy();
      resolve({ status: 200, text: '' });
    }, 1500);
    req.on('response', () => clearTimeout(hang));
    req.on('error', (e) => {
      clearTimeout(hang);
      if ((e as NodeJS.ErrnoException).code === 'ECONNRESET') resolve({ status: 200, text: '' });
      else reject(e);
    });
    req.end(body);
  });
}

test('fuzz WebSocket /v3/watch frames: well-formed answers, server keeps serving', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(watchReq.map((o) => JSON.stringify(o)), bodies(watchReq)), { minLength: 1, maxLength: 4 }), async (frames) => {
      const ws = await openWsWatch(server.address);
      for (const f of frames) if (!ws.closed) ws.send(f);
      await ws.settle(30, 500);
      for (const m of ws.messages) {
        assert.ok(!m.unparsable, `unparsable frame back for ${JSON.stringify(frames).slice(0, 300)}: ${m.unparsable}`);
        assert.ok(m.result || (m.error && typeof m.error === 'object'), `frame neither result nor error: ${JSON.stringify(m).slice(0, 300)}`);
        if (m.result?.canceled && m.result.created) assert.type(m.result.cancel_reason, 'string');
      }
      await ws.close();
    }),
    { numRuns: Math.ceil(RUNS / 2), seed: SEED },
  );
  // Still serving watches.
  const ws = await openWsWatch(server.address);
  ws.send({ create_request: { key: b64('/fz/after') } });
  await ws.waitFor((m) => m.result?.created && !m.result.canceled);
  await post(server.address, '/v3/kv/put', { key: b64('/fz/after'), value: b64('1') });
  await ws.waitFor((m) => m.result?.events?.length === 1);
  await ws.close();
  await canaryIntact();
});

test.run();
