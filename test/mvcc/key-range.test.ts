/** The one key-range convention: etcd's range_end in requests, normalised inside. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { contains, FROM_KEY_END, isEmptyRange, isFromKeyEnd, normaliseEnd, requestEnd } from '../../src/mvcc/key-range.ts';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('normaliseEnd and requestEnd: etcd\'s request form ↔ the index form', () => {
  assert.is(normaliseEnd(undefined), undefined, 'absent: one key');
  assert.is(normaliseEnd(Buffer.alloc(0)), undefined, 'empty: one key');
  assert.is(normaliseEnd(Buffer.of(0)), null, '"\\0": to the end of the keyspace');
  assert.equal(normaliseEnd(b('b')), b('b'));
  assert.equal(normaliseEnd(Buffer.of(0, 0)), Buffer.of(0, 0), 'two zero bytes are an ordinary end');
  assert.equal(requestEnd(null), FROM_KEY_END);
  assert.is(requestEnd(undefined), undefined);
  assert.equal(requestEnd(b('z')), b('z'));
  assert.ok(isFromKeyEnd(Buffer.of(0)));
  assert.not.ok(isFromKeyEnd(Buffer.of(0, 0)));
  assert.not.ok(isFromKeyEnd(undefined));
});

test('contains and isEmptyRange', () => {
  assert.ok(contains(b('a'), undefined, b('a')));
  assert.not.ok(contains(b('a'), undefined, b('a\0')), 'a single key holds no other key');
  assert.ok(contains(b('a'), b('b'), b('a\xff')));
  assert.not.ok(contains(b('a'), b('b'), b('b')), 'the end is exclusive');
  assert.not.ok(contains(b('b'), b('c'), b('a')));
  assert.ok(contains(b('a'), null, b('\xff\xff')));
  assert.not.ok(contains(b('b'), null, b('a')));
  assert.ok(isEmptyRange(b('b'), b('b')));
  assert.ok(isEmptyRange(b('b'), b('a')));
  assert.not.ok(isEmptyRange(b('a'), b('b')));
  assert.not.ok(isEmptyRange(b('a'), null));
  assert.not.ok(isEmptyRange(b('a'), undefined));
});

test.run();
