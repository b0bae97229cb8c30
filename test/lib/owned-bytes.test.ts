import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ownedCopy } from '../../src/lib/owned-bytes.ts';

test('a copy has memory of its own, exactly its size: it pins no pool slab', () => {
  const pooled = Buffer.from('a small value'); // Node serves this from its shared 8 KiB pool
  assert.ok(pooled.buffer.byteLength > pooled.length, 'precondition: the source is a pool slice');
  const copy = ownedCopy(pooled);
  assert.equal(copy, pooled);
  assert.is.not(copy.buffer, pooled.buffer);
  assert.is(copy.buffer.byteLength, pooled.length);
  pooled[0] = 0x7a;
  assert.is(copy.toString(), 'a small value', 'later changes to the source do not show');
  assert.is(ownedCopy(Buffer.alloc(0)).length, 0);
});

test.run();
