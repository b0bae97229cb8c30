/** Asserts that a promise fails with watchkv's error `code` (tests assert on codes, never on messages). */
import * as assert from 'uvu/assert';
import { isKvError, type ErrorCode, type WatchKvError } from '../../src/errors.ts';

export async function rejects(p: Promise<unknown>, code: ErrorCode): Promise<WatchKvError> {
  try {
    await p;
  } catch (err) {
    assert.ok(isKvError(err, code), `expected ${code}, got ${String(err)}`);
    return err as WatchKvError;
  }
  assert.unreachable(`expected ${code}, got success`);
  throw new Error('unreachable');
}
