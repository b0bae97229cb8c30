/** Simple tokens: expire TTL after their last use (each use restarts it), die with their user. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimpleTokens } from '../../src/auth/tokens.ts';

test('a token expires TTL after its last use; using it restarts the TTL; invalidateUser kills it', () => {
  let now = 1_000_000;
  const t = new SimpleTokens(300_000, () => now);
  const tok = t.issue('alice');
  assert.match(tok, /^[A-Za-z]{16}\.1$/);
  now += 299_000;
  assert.is(t.verify(tok)?.user, 'alice'); // restarts the TTL
  now += 299_000;
  assert.is(t.verify(tok)?.user, 'alice');
  now += 300_000;
  assert.is(t.verify(tok), undefined); // expired
  const other = t.issue('bob');
  t.invalidateUser('bob');
  assert.is(t.verify(other), undefined);
  assert.is(t.verify('garbage'), undefined);
  t.close();
});

test.run();
