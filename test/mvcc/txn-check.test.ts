import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isKvError } from '../../src/errors.ts';
import type { RequestOp, TxnRequest } from '../../src/mvcc/kv.ts';
import { checkTxnRequest } from '../../src/mvcc/txn-check.ts';

const b = (s: string) => Buffer.from(s);
const put = (k: string): RequestOp => ({ put: { key: b(k), value: b('v') } });
const del = (k: string, end?: string): RequestOp => ({ deleteRange: { key: b(k), rangeEnd: end === undefined ? undefined : b(end) } });
const range = (k: string): RequestOp => ({ range: { key: b(k) } });
const txn = (success: RequestOp[], failure: RequestOp[] = []): RequestOp => ({ txn: { compare: [], success, failure } });
const limits = { maxTxnOps: 4, maxRequestBytes: 100 };

function codeOf(req: TxnRequest): string | undefined {
  try {
    checkTxnRequest(req, limits);
    return undefined;
  } catch (err) {
    assert.ok(isKvError(err));
    return err.code;
  }
}
const branch = (success: RequestOp[]): TxnRequest => ({ compare: [], success, failure: [] });

test('a key written twice in one branch is rejected, as etcd', () => {
  assert.is(codeOf(branch([put('a'), put('a')])), 'ERR_DUPLICATE_KEY');
  assert.is(codeOf(branch([put('a'), del('a')])), 'ERR_DUPLICATE_KEY');
  assert.is(codeOf(branch([del('a', 'c'), put('b')])), 'ERR_DUPLICATE_KEY', 'put inside a deleted range');
  assert.is(codeOf(branch([del('a', '\0'), put('zzz')])), 'ERR_DUPLICATE_KEY', '"\\0" end means +infinity');
  assert.is(codeOf(branch([put('a'), txn([put('a')])])), 'ERR_DUPLICATE_KEY', 'nested put of an outer key');
  assert.is(codeOf(branch([del('a'), txn([put('a')])])), 'ERR_DUPLICATE_KEY', 'nested put of an outer delete');
});

test('what etcd allows: reads of written keys, deletes overlapping, then/else of one nested txn', () => {
  assert.is(codeOf(branch([put('a'), range('a')])), undefined);
  assert.is(codeOf(branch([del('a'), del('a', 'z')])), undefined);
  assert.is(codeOf(branch([txn([put('a')], [put('a')])])), undefined);
  assert.is(codeOf({ compare: [], success: [put('a')], failure: [put('a')] }), undefined, 'branches are alternatives');
  assert.is(codeOf(branch([put('a'), put('b')])), undefined);
});

test('limits: ops per branch, request bytes, empty keys', () => {
  assert.is(codeOf(branch([put('a'), put('b'), put('c'), put('d'), put('e')])), 'ERR_TOO_MANY_OPS');
  assert.is(codeOf(branch([txn([put('a'), put('b'), put('c'), put('d'), put('e')])])), 'ERR_TOO_MANY_OPS', 'nested levels too');
  assert.is(codeOf(branch([{ put: { key: b('a'), value: Buffer.alloc(101) } }])), 'ERR_REQUEST_TOO_LARGE');
  assert.is(codeOf(branch([{ put: { key: Buffer.alloc(0), value: b('v') } }])), 'ERR_KEY_NOT_PROVIDED');
  assert.is(codeOf({ compare: [{ key: Buffer.alloc(0), target: 'VERSION', result: 'EQUAL' }], success: [], failure: [] }), 'ERR_KEY_NOT_PROVIDED');
});

test.run();
