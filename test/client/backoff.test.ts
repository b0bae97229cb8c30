/** Reconnect backoff: doubles up to its cap, jitter keeps each wait in [d/2, d], reset starts over. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Backoff } from '../../src/client/backoff.ts';
import { prefixRangeEnd } from '../../src/client/bytes.ts';

test('bounds double to the cap; waits stay within [bound/2, bound]', () => {
  const low = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
  const high = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
  const lows = Array.from({ length: 6 }, () => low.next());
  const highs = Array.from({ length: 6 }, () => Math.round(high.next()));
  assert.equal(lows, [50, 100, 200, 400, 500, 500]);
  assert.equal(highs, [100, 200, 400, 800, 1000, 1000]);
  low.reset();
  assert.is(low.next(), 50);
  const real = new Backoff({ initialMs: 100, maxMs: 1000 });
  const waits = Array.from({ length: 200 }, () => real.next()).slice(10);
  assert.ok(waits.every((w) => w >= 500 && w <= 1000));
  assert.ok(new Set(waits).size > 100, 'jitter spreads the waits');
});

test("prefix range ends follow etcd's rule", () => {
  assert.equal([...prefixRangeEnd(new Uint8Array([0x61, 0x62]))], [0x61, 0x63]);
  assert.equal([...prefixRangeEnd(new Uint8Array([0x61, 0xff]))], [0x62]);
  assert.equal([...prefixRangeEnd(new Uint8Array([0xff, 0xff]))], [0]);
});

test.run();
