/** The hand-written frames must be what a WebSocket client reads: fed through ws's own Receiver. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { FrameBatcher } from '../../../src/api/ws/frame-batcher.ts';

// ws's Receiver is public at runtime but absent from its type definitions.
const { Receiver } = createRequire(import.meta.url)('ws') as { Receiver: new (o: object) => NodeJS.WritableStream & { on(e: string, f: (...a: any[]) => void): void } };

function harness() {
  const chunks: Buffer[] = [];
  const gathered: number[] = [];
  let open = true;
  const batcher = new FrameBatcher({
    open: () => open,
    write: (c) => chunks.push(Buffer.from(c)),
    writeGathered: (cs) => {
      gathered.push(cs.length);
      for (const c of cs) chunks.push(Buffer.from(c));
    },
  });
  const read = (): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const got: string[] = [];
      const r = new Receiver({ isServer: false, maxPayload: 0 });
      r.on('message', (data: Buffer, isBinary: boolean) => {
        assert.not.ok(isBinary, 'text frame');
        got.push(data.toString('utf8'));
      });
      r.on('error', reject);
      r.end(Buffer.concat(chunks), () => resolve(got));
    });
  return { batcher, chunks, gathered, read, close: () => (open = false) };
}

test('every payload length class (7, 16 and 64-bit) round-trips, in order, batched per tick', async () => {
  const h = harness();
  const sizes = [0, 1, 125, 126, 127, 65535, 65536, 100_000, 16 * 1024, 16 * 1024 + 1];
  const payloads = sizes.map((n, i) => `{"i":${i},"p":"${'x'.repeat(Math.max(0, n - 20))}"}`.slice(0, Math.max(n, 9)) );
  for (const p of payloads) h.batcher.push(p.slice(0, 3), Buffer.from(p.slice(3, -1)), p.slice(-1));
  await new Promise((r) => process.nextTick(r));
  assert.equal(await h.read(), payloads);
});

test('small frames of one tick leave in one write', async () => {
  const h = harness();
  const payloads = Array.from({ length: 50 }, (_, i) => `{"n":${i}}`);
  for (const p of payloads) h.batcher.push(p, null, '');
  assert.is(h.chunks.length, 0, 'nothing written before the tick ends');
  await new Promise((r) => process.nextTick(r));
  assert.is(h.chunks.length, 1);
  assert.equal(await h.read(), payloads);
});

test('a big batch of frames sharing one body goes out gathered, the body by reference, every frame intact', async () => {
  const h = harness();
  // As a fan-out: 400 watchers' responses, each its own head around one shared events body.
  const body = Buffer.from(`{"kv":{"key":"a2V5","value":"${'dg'.repeat(100)}"}}`);
  const payloads: string[] = [];
  for (let i = 0; i < 400; i++) {
    const head = `{"result":{"watch_id":"${i}","events":[`;
    h.batcher.push(head, body, ']}}');
    payloads.push(`${head}${body.toString()}]}}`);
  }
  h.batcher.push('{"ü":"non-ASCII head"}', null, '');
  payloads.push('{"ü":"non-ASCII head"}');
  await new Promise((r) => process.nextTick(r));
  assert.ok(h.gathered.length > 0, 'written gathered');
  assert.ok(h.gathered.every((n) => n > 2), 'in pieces: own bytes between the shared bodies');
  assert.equal(await h.read(), payloads);
});

test('non-ASCII UTF-8 payloads keep their byte length', async () => {
  const h = harness();
  const p = JSON.stringify({ cancel_reason: 'ünïcødé ✓ 𝄞' });
  h.batcher.push(p, null, '');
  h.batcher.flush();
  assert.equal(await h.read(), [p]);
});

test('nothing is written once the socket is no longer open', () => {
  const h = harness();
  h.batcher.push('{"a":1}', null, '');
  h.close();
  h.batcher.flush();
  h.batcher.push('x'.repeat(20_000), null, '');
  assert.is(h.chunks.length, 0);
  assert.is(h.batcher.pending, 0);
});

test.run();
