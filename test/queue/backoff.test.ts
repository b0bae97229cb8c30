import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffCapMs, backoffMs } from '../../src/queue/backoff.ts';
import { Rng } from '../support/rng.ts';

const b = { backoffMinMs: 1000, backoffMaxMs: 300_000 };

test('the cap doubles per failure from min, up to max', () => {
  assert.equal([1, 2, 3, 4, 9, 10, 100, 10_000].map((n) => backoffCapMs(n, b)), [1000, 2000, 4000, 8000, 256_000, 300_000, 300_000, 300_000]);
  assert.is(backoffCapMs(0, b), 1000);
});

test('delays stay within [min, cap] and spread over it (full jitter)', () => {
  const rng = new Rng(42);
  for (let n = 1; n <= 20; n++) {
    const seen: number[] = [];
    for (let i = 0; i < 200; i++) {
      const d = backoffMs(n, b, () => rng.next());
      assert.ok(d >= 1000 && d <= backoffCapMs(n, b), `n=${n} d=${d}`);
      seen.push(d);
    }
    if (n >= 3) assert.ok(Math.max(...seen) - Math.min(...seen) > backoffCapMs(n, b) / 4, `spread at n=${n}`);
  }
});

test('degenerate bounds: min 0, min = max', () => {
  assert.is(backoffMs(5, { backoffMinMs: 0, backoffMaxMs: 0 }), 0);
  assert.is(backoffMs(5, { backoffMinMs: 50, backoffMaxMs: 50 }), 50);
  assert.is(backoffMs(1, { backoffMinMs: 0, backoffMaxMs: 100 }, () => 0.999), 0, 'cap(1) = min = 0');
});

test.run();
