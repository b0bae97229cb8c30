/**
 * The one test suite every KV implementation passes: the store (test/mvcc), the watchable store
 * around it (test/watch), a server through its JSON gateway and its gRPC API (test/api), and the
 * upstream mirror over a real etcd (test/upstream) — so the last one checks that the contract is
 * etcd's behaviour, and the others that every layer and transport keeps it.
 *
 * Each test gets a fresh KV from `makeFixture`. Revisions are counted from the fixture's start
 * revision (1 for a new store; a shared etcd emptied for the test is further on), so every
 * expectation is exact for every implementation. This file holds ranges, puts and deletes;
 * kv-contract-writes.ts the txns, compaction, errors and commit notifications.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { KV, RangeOptions, RangeRequest } from '../../src/mvcc/kv.ts';
import { b, keysOf, kvOf, plain, ZERO } from '../support/kv-plain.ts';
import { rejects } from '../support/rejects.ts';
import { kvWriteContract } from './kv-contract-writes.ts';

/** What the contract calls; onCommit only where the implementation exposes it (capabilities). */
export type ContractKv = Pick<KV, 'range' | 'put' | 'deleteRange' | 'txn' | 'compact'> & Partial<Pick<KV, 'onCommit'>>;

export interface KvFixture {
  kv: ContractKv;
  /** The revision the fresh KV is at: 1 for a new store. */
  startRevision: number;
  cleanup(): Promise<void>;
}

/** What an implementation cannot do; each missing capability skips named tests (uvu counts them). */
export interface KvCapabilities {
  /** onCommit is exposed: false over a transport (watch it through the watch API instead). */
  commits: boolean;
  /** The commit listener also hears revisions without events (the upstream mirror's etcd progress notices). */
  emptyCommits?: boolean;
}

/** A test body: the fresh KV and `r(n)`, the start revision + n. */
export type KvTestBody = (kv: ContractKv, r: (n: number) => number) => Promise<void>;
export type KvTestRegistrar = (title: string, body: KvTestBody, needs?: keyof KvCapabilities) => void;

export function kvContract(name: string, makeFixture: () => Promise<KvFixture>, caps: KvCapabilities): void {
  const test = suite(`kv contract: ${name}`);

  const each: KvTestRegistrar = (title, body, needs) => {
    if (needs && !caps[needs]) return test.skip(`${title} (no ${needs})`, () => undefined);
    test(title, async () => {
      const fx = await makeFixture();
      try {
        await body(fx.kv, (n) => fx.startRevision + n);
      } finally {
        await fx.cleanup();
      }
    });
  };

  /** Puts each [key, value] in order: revisions r(1), r(2), ... */
  const putAll = async (kv: ContractKv, pairs: Array<[string, string]>) => {
    for (const [k, v] of pairs) await kv.put({ key: b(k), value: b(v) });
  };
  const keys = async (kv: ContractKv, req: RangeRequest) => keysOf((await kv.range(req)).kvs);

  each('a fresh store is empty at its start revision', async (kv, r) => {
    assert.equal(plain(await kv.range({ key: ZERO, rangeEnd: ZERO })), { revision: r(0), kvs: [], count: 0, more: false });
    assert.equal(plain(await kv.range({ key: b('a'), revision: r(0) })), { revision: r(0), kvs: [], count: 0, more: false });
  });

  each('put: every write is the next revision; prev_kv only when asked and when the key existed', async (kv, r) => {
    assert.equal(plain(await kv.put({ key: b('a'), value: b('1') })), { revision: r(1) });
    assert.equal(plain(await kv.put({ key: b('a'), value: b('2'), prevKv: true })), { revision: r(2), prevKv: kvOf('a', '1', r(1), r(1), 1) });
    assert.equal(plain(await kv.put({ key: b('a'), value: b('3') })), { revision: r(3) });
    assert.equal(plain(await kv.put({ key: b('b'), value: b('x'), prevKv: true })), { revision: r(4) });
    assert.equal(plain(await kv.range({ key: b('a') })), { revision: r(4), kvs: [kvOf('a', '3', r(1), r(3), 3)], count: 1, more: false });
    // ignore_value keeps the value and still writes a revision (the value itself must be empty).
    assert.equal(plain(await kv.put({ key: b('a'), value: b(''), ignoreValue: true, prevKv: true })), { revision: r(5), prevKv: kvOf('a', '3', r(1), r(3), 3) });
    assert.equal(plain((await kv.range({ key: b('a') })).kvs), [kvOf('a', '3', r(1), r(5), 4)]);
  });

  each('range: one key, a prefix, [key, end), from a key, every key, empty ranges', async (kv, r) => {
    await putAll(kv, [['a', '1'], ['ab', '2'], ['abc', '3'], ['b', '4'], ['c', '5']]);
    assert.equal(plain(await kv.range({ key: b('a'), rangeEnd: b('b') })), {
      revision: r(5),
      kvs: [kvOf('a', '1', r(1), r(1), 1), kvOf('ab', '2', r(2), r(2), 1), kvOf('abc', '3', r(3), r(3), 1)],
      count: 3,
      more: false,
    });
    assert.equal(await keys(kv, { key: b('ab') }), ['ab']);
    assert.equal(await keys(kv, { key: b('ab'), rangeEnd: b('c') }), ['ab', 'abc', 'b']);
    assert.equal(await keys(kv, { key: b('b'), rangeEnd: ZERO }), ['b', 'c']);
    assert.equal(await keys(kv, { key: ZERO, rangeEnd: ZERO }), ['a', 'ab', 'abc', 'b', 'c']);
    // rangeEnd <= key is the empty range; a missing key reads nothing.
    assert.equal(plain(await kv.range({ key: b('c'), rangeEnd: b('a') })), { revision: r(5), kvs: [], count: 0, more: false });
    assert.equal(plain(await kv.range({ key: b('zz') })), { revision: r(5), kvs: [], count: 0, more: false });
  });

  each('binary keys and values: stored, ordered and ranged bytewise', async (kv, r) => {
    const raw = (...bytes: number[]) => Buffer.from(bytes);
    // Put out of order: a\xff, a\x00, \xff\x00 (value \x00\xff\x80), a.
    await kv.put({ key: raw(0x61, 0xff), value: raw(1) });
    await kv.put({ key: raw(0x61, 0x00), value: raw(0xc3, 0x28) });
    await kv.put({ key: raw(0xff, 0x00), value: raw(0x00, 0xff, 0x80) });
    await kv.put({ key: raw(0x61), value: b('') });
    assert.equal(plain(await kv.range({ key: b('a'), rangeEnd: b('b') })), {
      revision: r(4),
      kvs: [kvOf('a', '', r(4), r(4), 1), kvOf('a\x00', '\xc3\x28', r(2), r(2), 1), kvOf('a\xff', '\x01', r(1), r(1), 1)],
      count: 3,
      more: false,
    });
    assert.equal(plain((await kv.range({ key: raw(0xff), rangeEnd: ZERO })).kvs), [kvOf('\xff\x00', '\x00\xff\x80', r(3), r(3), 1)]);
    assert.equal(await keys(kv, { key: raw(0x61, 0x00), rangeEnd: raw(0x61, 0xff) }), ['a\x00']);
  });

  each('limit cuts the kvs and sets more; count stays the number of keys in the range', async (kv, r) => {
    await putAll(kv, [['a', '1'], ['ab', '2'], ['abc', '3'], ['b', '4'], ['c', '5']]);
    const all = { key: ZERO, rangeEnd: ZERO };
    assert.equal(plain(await kv.range({ ...all, limit: 2 })), { revision: r(5), kvs: [kvOf('a', '1', r(1), r(1), 1), kvOf('ab', '2', r(2), r(2), 1)], count: 5, more: true });
    for (const limit of [0, 5, 6]) {
      const res = await kv.range({ ...all, limit });
      assert.equal([keysOf(res.kvs).length, res.count, res.more], [5, 5, false], `limit ${limit}`);
    }
    const prefix = await kv.range({ key: b('a'), rangeEnd: b('b'), limit: 1 });
    assert.equal([keysOf(prefix.kvs), prefix.count, prefix.more], [['a'], 3, true]);
  });

  each('range at a past revision sees the store as it was; the header is the current revision', async (kv, r) => {
    await putAll(kv, [['a', '1'], ['a', '2'], ['b', '1']]);
    assert.equal(plain(await kv.deleteRange({ key: b('a') })), { revision: r(4), deleted: 1, prevKvs: [] });
    const all = { key: ZERO, rangeEnd: ZERO };
    assert.equal(plain(await kv.range({ ...all, revision: r(0) })), { revision: r(4), kvs: [], count: 0, more: false });
    assert.equal(plain(await kv.range({ ...all, revision: r(1) })), { revision: r(4), kvs: [kvOf('a', '1', r(1), r(1), 1)], count: 1, more: false });
    assert.equal(plain((await kv.range({ ...all, revision: r(2) })).kvs), [kvOf('a', '2', r(1), r(2), 2)]);
    assert.equal(plain((await kv.range({ ...all, revision: r(3) })).kvs), [kvOf('a', '2', r(1), r(2), 2), kvOf('b', '1', r(3), r(3), 1)]);
    assert.equal(plain(await kv.range({ ...all, revision: r(4) })), { revision: r(4), kvs: [kvOf('b', '1', r(3), r(3), 1)], count: 1, more: false });
    assert.equal(plain(await kv.range({ ...all, revision: 0 })), plain(await kv.range({ ...all, revision: r(4) })));
    // A negative revision reads the current one too, as etcd's rangeKeys. Inside a txn etcd first
    // checks it against its first readable revision, -1 until a compaction: -1 reads the current
    // revision, -5 is compacted.
    assert.equal(plain(await kv.range({ ...all, revision: -5 })), plain(await kv.range({ ...all, revision: r(4) })));
    const inTxn = await kv.txn({ compare: [], success: [{ range: { ...all, revision: -1 } }], failure: [] });
    assert.equal(plain(inTxn.responses), [{ range: { revision: r(4), kvs: [kvOf('b', '1', r(3), r(3), 1)], count: 1, more: false } }]);
    await rejects(kv.txn({ compare: [], success: [{ range: { ...all, revision: -5 } }], failure: [] }), 'ERR_COMPACTED');
  });

  /** c: version 1, create r1, mod r1; a: version 3, create r2, mod r6; b: version 2, create r3, mod r4. */
  const sortSetup = (kv: ContractKv) => putAll(kv, [['c', 'm'], ['a', 'z'], ['b', 'k'], ['b', 'k'], ['a', 'z'], ['a', 'z']]);

  each('sort: every order and target; a target with no order sorts ascending', async (kv) => {
    await sortSetup(kv);
    const cases: Array<[RangeRequest['sortOrder'], RangeRequest['sortTarget'], string[]]> = [
      ['ASCEND', 'KEY', ['a', 'b', 'c']],
      ['DESCEND', 'KEY', ['c', 'b', 'a']],
      ['ASCEND', 'VERSION', ['c', 'b', 'a']],
      ['DESCEND', 'VERSION', ['a', 'b', 'c']],
      ['ASCEND', 'CREATE', ['c', 'a', 'b']],
      ['DESCEND', 'CREATE', ['b', 'a', 'c']],
      ['ASCEND', 'MOD', ['c', 'b', 'a']],
      ['DESCEND', 'MOD', ['a', 'b', 'c']],
      ['ASCEND', 'VALUE', ['b', 'c', 'a']],
      ['DESCEND', 'VALUE', ['a', 'c', 'b']],
      ['NONE', 'VALUE', ['b', 'c', 'a']],
      ['NONE', 'CREATE', ['c', 'a', 'b']],
      ['NONE', 'KEY', ['a', 'b', 'c']],
    ];
    for (const [sortOrder, sortTarget, want] of cases) {
      assert.equal(await keys(kv, { key: ZERO, rangeEnd: ZERO, sortOrder, sortTarget }), want, `${sortOrder} ${sortTarget}`);
    }
    const cut = await kv.range({ key: ZERO, rangeEnd: ZERO, sortOrder: 'DESCEND', sortTarget: 'KEY', limit: 2 });
    assert.equal([keysOf(cut.kvs), cut.count, cut.more], [['c', 'b'], 3, true]);
    const oldest = await kv.range({ key: ZERO, rangeEnd: ZERO, sortOrder: 'ASCEND', sortTarget: 'MOD', limit: 1 });
    assert.equal([keysOf(oldest.kvs), oldest.count, oldest.more], [['c'], 3, true]);
  });

  each('min/max mod and create revision filters cut the kvs, not the count', async (kv, r) => {
    await sortSetup(kv);
    const all = { key: ZERO, rangeEnd: ZERO };
    const cases: Array<[RangeOptions, string[]]> = [
      [{ minModRevision: r(4) }, ['a', 'b']],
      [{ maxModRevision: r(4) }, ['b', 'c']],
      [{ minCreateRevision: r(2) }, ['a', 'b']],
      [{ maxCreateRevision: r(2) }, ['a', 'c']],
      [{ minModRevision: r(2), maxModRevision: r(5) }, ['b']],
      [{ minCreateRevision: r(4) }, []],
    ];
    for (const [filter, want] of cases) {
      const res = await kv.range({ ...all, ...filter });
      assert.equal([keysOf(res.kvs), res.count, res.more], [want, 3, false], JSON.stringify(filter));
    }
    const cut = await kv.range({ ...all, minModRevision: r(4), limit: 1 });
    assert.equal([plain(cut.kvs), cut.count, cut.more], [[kvOf('a', 'z', r(2), r(6), 3)], 3, true]);
  });

  each('keys_only drops the values; count_only returns only the count', async (kv, r) => {
    await putAll(kv, [['a', '1'], ['b', '2'], ['a', '3']]);
    const all = { key: ZERO, rangeEnd: ZERO };
    assert.equal(plain(await kv.range({ ...all, keysOnly: true })), { revision: r(3), kvs: [kvOf('a', '', r(1), r(3), 2), kvOf('b', '', r(2), r(2), 1)], count: 2, more: false });
    assert.equal(plain(await kv.range({ ...all, countOnly: true })), { revision: r(3), kvs: [], count: 2, more: false });
    assert.equal(plain(await kv.range({ ...all, countOnly: true, limit: 1 })), { revision: r(3), kvs: [], count: 2, more: false });
    assert.equal(plain(await kv.range({ ...all, countOnly: true, revision: r(1) })), { revision: r(3), kvs: [], count: 1, more: false });
  });

  each('deleteRange: deleted count and prev_kvs; deleting nothing writes nothing; a put after starts a new generation', async (kv, r) => {
    await putAll(kv, [['a', '1'], ['ab', '2'], ['b', '3']]);
    assert.equal(plain(await kv.deleteRange({ key: b('a'), rangeEnd: b('b'), prevKv: true })), {
      revision: r(4),
      deleted: 2,
      prevKvs: [kvOf('a', '1', r(1), r(1), 1), kvOf('ab', '2', r(2), r(2), 1)],
    });
    assert.equal(plain(await kv.deleteRange({ key: b('zz'), prevKv: true })), { revision: r(4), deleted: 0, prevKvs: [] });
    assert.equal(plain(await kv.deleteRange({ key: b('a'), rangeEnd: ZERO })), { revision: r(5), deleted: 1, prevKvs: [] });
    assert.equal(plain(await kv.range({ key: ZERO, rangeEnd: ZERO })), { revision: r(5), kvs: [], count: 0, more: false });
    await putAll(kv, [['a', 'again'], ['ab', 'x']]);
    assert.equal(plain((await kv.range({ key: b('a') })).kvs), [kvOf('a', 'again', r(6), r(6), 1)]);
    // A single-key delete leaves the keys it prefixes.
    assert.equal(plain(await kv.deleteRange({ key: b('a'), prevKv: true })), { revision: r(8), deleted: 1, prevKvs: [kvOf('a', 'again', r(6), r(6), 1)] });
    assert.equal(await keys(kv, { key: ZERO, rangeEnd: ZERO }), ['ab']);
  });

  kvWriteContract(each, caps);
  test.run();
}
