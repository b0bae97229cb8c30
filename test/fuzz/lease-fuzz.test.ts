/**
 * Property-based fuzzing (fast-check) of the lease endpoints. Per generated input:
 *   - a unary lease endpoint answers 200 with a JSON body carrying a header, or a 4xx with JSON
 *     {error, message, code}: never a 5xx, never a non-JSON body;
 *   - the keep-alive stream (POST) ends with the body and answers every line with a well-formed
 *     message ({"result":…} or {"error":…}), or refuses a bad first message with a 4xx;
 *   - the server keeps serving, and a lease granted first (with a key) is still there.
 * Replay with TEST_SEED=<seed> (fast-check seed); TEST_FUZZ_RUNS scales the run count.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { defaultConfig } from '../../src/cli-options.ts';
import { b64, post } from '../support/http-client.ts';
import { testSeed } from '../support/rng.ts';

const SEED = testSeed();
const RUNS = Number(process.env.TEST_FUZZ_RUNS) || 200;
const CANARY_LEASE = '4242424242';
let server: RunningServer;

test.before(async () => {
  server = await startServer(defaultConfig({ listenClientUrls: 'http://127.0.0.1:0', logLevel: 'silent' }), new MemoryBackend());
  assert.is((await post(server.address, '/v3/lease/grant', { ID: CANARY_LEASE, TTL: 3600 })).status, 200);
  assert.is((await post(server.address, '/v3/kv/put', { key: b64('\x01canary'), value: b64('alive'), lease: CANARY_LEASE })).status, 200);
});
test.after(async () => server?.close());

async function canaryIntact(): Promise<void> {
  const t = await post(server.address, '/v3/lease/timetolive', { ID: CANARY_LEASE, keys: true });
  assert.is(t.status, 200, 'the server still answers');
  assert.equal(t.body.keys, [b64('\x01canary')], 'canary lease and its key untouched');
}

const weird = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('9223372036854775807', '9223372036854775808', '-1', '0', '1e3', '', 'AA==', '9000000000', '9000000001', '-9223372036854775808'),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);
// Ids from a small pool (never the canary's), so grants, revokes and keep-alives meet.
const id = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 20 }) }, { weight: 1, arbitrary: weird });
const ttl = fc.oneof(fc.integer({ min: -5, max: 120 }), weird);
const grant = fc.record({ ID: id, TTL: ttl }, { requiredKeys: [] });
const byId = fc.record({ ID: id }, { requiredKeys: [] });
const ttlReq = fc.record({ ID: id, keys: fc.oneof(fc.boolean(), weird) }, { requiredKeys: [] });

function bodies(structured: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: structured.map((o) => JSON.stringify(o)) },
    { weight: 1, arbitrary: fc.json() },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: structured.map((o) => JSON.stringify(o).slice(0, -1)) },
  );
}

function assertUnary(path: string, body: string, r: { status: number; body: any; json: boolean }): void {
  const ctx = `${path} ${JSON.stringify(body).slice(0, 300)} → ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`;
  assert.ok(r.json, `non-JSON answer: ${ctx}`);
  if (r.status === 200) {
    assert.ok(r.body?.header, `200 without a header: ${ctx}`);
    return;
  }
  assert.ok(r.status >= 400 && r.status < 500, `not a 4xx: ${ctx}`);
  assert.type(r.body.error, 'string', ctx);
  assert.type(r.body.code, 'number', ctx);
}

const ENDPOINTS: Array<[string, fc.Arbitrary<unknown>]> = [
  ['/v3/lease/grant', grant],
  ['/v3/lease/revoke', byId],
  ['/v3/kv/lease/revoke', byId],
  ['/v3/lease/timetolive', ttlReq],
  ['/v3/kv/lease/timetolive', ttlReq],
  ['/v3/lease/leases', fc.dictionary(fc.string({ maxLength: 5 }), weird, { maxKeys: 2 })],
  ['/v3/kv/put', fc.record({ key: fc.constantFrom(b64('/fz/a'), b64('/fz/b')), value: fc.constant(b64('v')), lease: id }, { requiredKeys: [] })],
];

for (const [path, structured] of ENDPOINTS) {
  test(`fuzz POST ${path}`, async () => {
    await fc.assert(
      fc.asyncProperty(bodies(structured), async (body) => assertUnary(path, body, await post(server.address, path, body, 5000))),
      { numRuns: RUNS, seed: SEED },
    );
    await canaryIntact();
  });
}

test('fuzz POST /v3/lease/keepalive: the stream ends with the body, every line well-formed', async () => {
  const stream = fc.array(bodies(byId), { minLength: 0, maxLength: 4 }).map((parts) => parts.join(''));
  await fc.assert(
    fc.asyncProperty(stream, async (body) => {
      const r = await post(server.address, '/v3/lease/keepalive', body, 5000);
      const ctx = `${JSON.stringify(body).slice(0, 300)} → ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`;
      if (r.status !== 200) {
        assert.ok(r.status >= 400 && r.status < 500 && r.json && typeof r.body.error === 'string', `bad refusal: ${ctx}`);
        return;
      }
      const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body) + '\n';
      for (const line of text.split('\n').filter((l) => l !== '')) {
        const m = JSON.parse(line);
        assert.ok((m.result && m.result.header) || (m.error && typeof m.error.grpc_code === 'number'), `bad line ${line}: ${ctx}`);
      }
    }),
    { numRuns: RUNS, seed: SEED },
  );
  await canaryIntact();
});

test.run();
