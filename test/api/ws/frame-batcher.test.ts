/** The hand-written frames must be what a WebSocket client reads: fed through ws's own Receiver. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { FrameBatcher } from '../../../src/api/ws/frame-batcher.ts';

// ws's Receiver is public at runtime but absent from its type definitions.
const { Receiver } = createRequire(import.meta.url)('ws') as { Receiver: new (o: object) => NodeJS.WritableStream & { on(e: string, f: (...a: any[]) => void): void } };

function harness() {
  const chunks: Buffer[] = [];
  let open = true;
  const batcher = new FrameBatcher({ open: () => open, write: (c) => chunks.push(Buffer.from(c)) });
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
  return { batcher, chunks, read, close: () => (open = false) };
}

test('every payload length class (7, 16 and 64-bit) round-trips, in order, batched per tick', async () => {
  const h = harness();
  const sizes = [0, 1, 125, 126, 127, 65535, 65536, 100_000, 16 * 1024, 16 * 1024 + 1];
  const payloads = sizes.map((n, i) => `{"i":${i},"p":"${'x'.repeat(Math.max(0, n - 20))}"}`.slice(0, Math.max(n, 9)) );
  for (const p of payloads) h.batcher.push(Buffer.from(p));
  await new Promise((r) => process.nextTick(r));
  assert.ok(h.chunks.length < payloads.length, `${payloads.length} frames in ${h.chunks.length} writes`);
  assert.equal(await h.read(), payloads);
});

test('non-ASCII UTF-8 payloads keep their byte length', async () => {
  const h = harness();
  const p = JSON.stringify({ cancel_reason: 'ünïcødé ✓ 𝄞' });
  h.batcher.push(Buffer.from(p, 'utf8'));
  h.batcher.flush();
  assert.equal(await h.read(), [p]);
});

test('nothing is written once the socket is no longer open', () => {
  const h = harness();
  h.batcher.push(Buffer.from('{"a":1}'));
  h.close();
  h.batcher.flush();
  h.batcher.push(Buffer.from('x'.repeat(20_000)));
  assert.is(h.chunks.length, 0);
  assert.is(h.batcher.pending, 0);
});

test.run();
