/**
 * The KV contract's second half (kv-contract.ts registers it): txns (every compare target, on a
 * key and on a range; both branches; ops seeing the ops before them; nested txns; the header
 * revision moving only when something is written), the typed errors every implementation must
 * report the same way, compaction, and the commit listener (where it is exposed).
 */
import * as assert from 'uvu/assert';
import type { Compare, Event } from '../../src/mvcc/kv.ts';
import { b, kvOf, plain, tombstone, ZERO } from '../support/kv-plain.ts';
import { rejects } from '../support/rejects.ts';
import type { KvCapabilities, KvTestRegistrar } from './kv-contract.ts';

export function kvWriteContract(each: KvTestRegistrar, caps: KvCapabilities): void {
  each('txn compares: value, version, create and mod, on a key, a missing key and a range', async (kv, r) => {
    for (const [k, v] of [['k', 'v1'], ['k', 'v2'], ['p/a', '1'], ['p/b', '1'], ['p/b', '2']]) await kv.put({ key: b(k!), value: b(v!) });
    const k = b('k');
    const nope = b('nope');
    const p = { key: b('p/'), rangeEnd: b('p0') };
    const cases: Array<[Compare[], boolean]> = [
      [[{ key: k, target: 'VALUE', result: 'EQUAL', value: b('v2') }], true],
      [[{ key: k, target: 'VALUE', result: 'EQUAL', value: b('v1') }], false],
      [[{ key: k, target: 'VALUE', result: 'GREATER', value: b('v1') }], true],
      [[{ key: k, target: 'VALUE', result: 'LESS', value: b('v1') }], false],
      [[{ key: k, target: 'VALUE', result: 'NOT_EQUAL', value: b('v1') }], true],
      [[{ key: k, target: 'VERSION', result: 'EQUAL', version: 2 }], true],
      [[{ key: k, target: 'VERSION', result: 'GREATER', version: 2 }], false],
      [[{ key: k, target: 'CREATE', result: 'EQUAL', createRevision: r(1) }], true],
      [[{ key: k, target: 'CREATE', result: 'LESS', createRevision: r(1) }], false],
      [[{ key: k, target: 'MOD', result: 'EQUAL', modRevision: r(2) }], true],
      [[{ key: k, target: 'MOD', result: 'LESS', modRevision: r(2) }], false],
      [[{ key: k, target: 'MOD', result: 'GREATER', modRevision: r(1) }], true],
      [[{ key: k, target: 'LEASE', result: 'EQUAL', lease: 0n }], true],
      [[{ key: k, target: 'LEASE', result: 'GREATER', lease: 0n }], false],
      // A missing key compares as a zero kv (CREATE == 0: absent), except on VALUE, which fails.
      [[{ key: nope, target: 'CREATE', result: 'EQUAL', createRevision: 0 }], true],
      [[{ key: nope, target: 'VERSION', result: 'EQUAL', version: 0 }], true],
      [[{ key: nope, target: 'VALUE', result: 'EQUAL', value: b('') }], false],
      [[{ key: nope, target: 'MOD', result: 'GREATER', modRevision: 0 }], false],
      // On a range, every key in it must satisfy the compare (p/a: version 1, p/b: version 2, mod r5).
      [[{ ...p, target: 'VERSION', result: 'GREATER', version: 0 }], true],
      [[{ ...p, target: 'VERSION', result: 'EQUAL', version: 1 }], false],
      [[{ ...p, target: 'VERSION', result: 'LESS', version: 3 }], true],
      [[{ ...p, target: 'MOD', result: 'LESS', modRevision: r(5) }], false],
      [[{ key: b('p/'), rangeEnd: ZERO, target: 'CREATE', result: 'GREATER', createRevision: r(2) }], true],
      // Every compare must hold.
      [[{ key: k, target: 'VALUE', result: 'EQUAL', value: b('v2') }, { key: k, target: 'VERSION', result: 'EQUAL', version: 1 }], false],
      [[{ key: k, target: 'VALUE', result: 'EQUAL', value: b('v2') }, { key: k, target: 'VERSION', result: 'EQUAL', version: 2 }], true],
    ];
    for (const [compare, want] of cases) {
      const res = await kv.txn({ compare, success: [{ range: { key: k, keysOnly: true } }], failure: [] });
      assert.equal([res.succeeded, res.revision, res.responses.length], [want, r(5), want ? 1 : 0], JSON.stringify(plain(compare)));
    }
    assert.is((await kv.range({ key: k })).revision, r(5));
  });

  each('txn: the branch runs its ops in order, each seeing the ones before; nested txns compare the state before', async (kv, r) => {
    await kv.put({ key: b('k'), value: b('1') });
    const res = await kv.txn({
      compare: [{ key: b('k'), target: 'VALUE', result: 'EQUAL', value: b('1') }],
      success: [
        { range: { key: b('k') } },
        { put: { key: b('k'), value: b('2'), prevKv: true } },
        { range: { key: b('k') } },
        { deleteRange: { key: b('none') } },
        // Its compare sees k before the outer txn (version 1), not after the put above.
        { txn: { compare: [{ key: b('k'), target: 'VERSION', result: 'EQUAL', version: 1 }], success: [{ put: { key: b('y'), value: b('1') } }], failure: [{ put: { key: b('z'), value: b('1') } }] } },
      ],
      failure: [{ put: { key: b('k'), value: b('fail') } }],
    });
    assert.equal(plain(res), {
      revision: r(2),
      succeeded: true,
      responses: [
        // A read before the txn's first write is at the revision before it.
        { range: { revision: r(1), kvs: [kvOf('k', '1', r(1), r(1), 1)], count: 1, more: false } },
        { put: { revision: r(2), prevKv: kvOf('k', '1', r(1), r(1), 1) } },
        { range: { revision: r(2), kvs: [kvOf('k', '2', r(1), r(2), 2)], count: 1, more: false } },
        { deleteRange: { revision: r(2), deleted: 0, prevKvs: [] } },
        { txn: { revision: r(2), succeeded: true, responses: [{ put: { revision: r(2) } }] } },
      ],
    });
    assert.equal(plain((await kv.range({ key: ZERO, rangeEnd: ZERO })).kvs), [kvOf('k', '2', r(1), r(2), 2), kvOf('y', '1', r(2), r(2), 1)]);
  });

  each('txn: each op reports the revision it saw: before the first write the old one, after it the new', async (kv, r) => {
    await kv.put({ key: b('k'), value: b('1') });
    const res = await kv.txn({
      compare: [],
      success: [
        { range: { key: b('k'), countOnly: true } },
        { deleteRange: { key: b('none') } },
        { put: { key: b('a'), value: b('1') } },
        { deleteRange: { key: b('k'), prevKv: true } },
        { range: { key: ZERO, rangeEnd: ZERO } },
      ],
      failure: [],
    });
    assert.equal(plain(res), {
      revision: r(2),
      succeeded: true,
      responses: [
        { range: { revision: r(1), kvs: [], count: 1, more: false } },
        { deleteRange: { revision: r(1), deleted: 0, prevKvs: [] } },
        { put: { revision: r(2) } },
        { deleteRange: { revision: r(2), deleted: 1, prevKvs: [kvOf('k', '1', r(1), r(1), 1)] } },
        { range: { revision: r(2), kvs: [kvOf('a', '1', r(2), r(2), 1)], count: 1, more: false } },
      ],
    });
  });

  each('txn: the failure branch; a txn that writes nothing keeps the revision', async (kv, r) => {
    await kv.put({ key: b('k'), value: b('1') });
    const fails: Compare[] = [{ key: b('k'), target: 'VALUE', result: 'EQUAL', value: b('x') }];
    const res = await kv.txn({ compare: fails, success: [{ put: { key: b('k'), value: b('s') } }], failure: [{ put: { key: b('k'), value: b('f') } }, { range: { key: b('k') } }] });
    assert.equal(plain(res), {
      revision: r(2),
      succeeded: false,
      responses: [{ put: { revision: r(2) } }, { range: { revision: r(2), kvs: [kvOf('k', 'f', r(1), r(2), 2)], count: 1, more: false } }],
    });
    assert.equal(plain(await kv.txn({ compare: [], success: [], failure: [] })), { revision: r(2), succeeded: true, responses: [] });
    assert.equal(plain(await kv.txn({ compare: fails, success: [{ put: { key: b('k'), value: b('s') } }], failure: [] })), { revision: r(2), succeeded: false, responses: [] });
    assert.equal(plain(await kv.txn({ compare: [], success: [{ deleteRange: { key: b('none'), prevKv: true } }], failure: [] })), {
      revision: r(2),
      succeeded: true,
      responses: [{ deleteRange: { revision: r(2), deleted: 0, prevKvs: [] } }],
    });
    // Several writes in one txn are one revision.
    const two = await kv.txn({ compare: [], success: [{ put: { key: b('a'), value: b('1') } }, { deleteRange: { key: b('k') } }], failure: [] });
    assert.equal(plain(two), { revision: r(3), succeeded: true, responses: [{ put: { revision: r(3) } }, { deleteRange: { revision: r(3), deleted: 1, prevKvs: [] } }] });
    assert.equal(plain(await kv.put({ key: b('b'), value: b('1') })), { revision: r(4) });
  });

  each('errors: empty key, future revision, missing key for ignore_value, duplicate keys in a txn; nothing is written', async (kv, r) => {
    await kv.put({ key: b('k'), value: b('1') });
    await rejects(kv.put({ key: b(''), value: b('v') }), 'ERR_KEY_NOT_PROVIDED');
    await rejects(kv.range({ key: b('') }), 'ERR_KEY_NOT_PROVIDED');
    await rejects(kv.deleteRange({ key: b('') }), 'ERR_KEY_NOT_PROVIDED');
    await rejects(kv.range({ key: b('k'), revision: r(2) }), 'ERR_FUTURE_REV');
    await rejects(kv.put({ key: b('nope'), value: b(''), ignoreValue: true }), 'ERR_KEY_NOT_FOUND');
    await rejects(kv.put({ key: b('nope'), value: b('v'), ignoreLease: true }), 'ERR_KEY_NOT_FOUND');
    await rejects(kv.txn({ compare: [], success: [{ put: { key: b('nope'), value: b(''), ignoreValue: true } }], failure: [] }), 'ERR_KEY_NOT_FOUND');
    const many = Array.from({ length: 129 }, (_, i) => ({ put: { key: b(`m${i}`), value: b('v') } }));
    await rejects(kv.txn({ compare: [], success: many, failure: [] }), 'ERR_TOO_MANY_OPS');
    const put = (key: string) => ({ put: { key: b(key), value: b('v') } });
    await rejects(kv.txn({ compare: [], success: [put('a'), put('a')], failure: [] }), 'ERR_DUPLICATE_KEY');
    await rejects(kv.txn({ compare: [], success: [{ deleteRange: { key: b('a'), rangeEnd: b('b') } }, put('ab')], failure: [] }), 'ERR_DUPLICATE_KEY');
    // Both branches are checked, whichever runs.
    await rejects(kv.txn({ compare: [], success: [put('a')], failure: [put('b'), put('b')] }), 'ERR_DUPLICATE_KEY');
    await rejects(kv.txn({ compare: [], success: [put('a'), { range: { key: b('k'), revision: r(2) } }], failure: [] }), 'ERR_FUTURE_REV');
    assert.equal(plain(await kv.range({ key: ZERO, rangeEnd: ZERO })), { revision: r(1), kvs: [kvOf('k', '1', r(1), r(1), 1)], count: 1, more: false });
  });

  each('compaction: reads below it fail; its own revision stays; again, older or future compactions fail', async (kv, r) => {
    for (const v of ['1', '2', '3']) await kv.put({ key: b('a'), value: b(v) });
    assert.equal(plain(await kv.compact(r(2))), { revision: r(3) });
    await rejects(kv.range({ key: b('a'), revision: r(1) }), 'ERR_COMPACTED');
    await rejects(kv.txn({ compare: [], success: [{ range: { key: b('a'), revision: r(1) } }], failure: [] }), 'ERR_COMPACTED');
    assert.equal(plain(await kv.range({ key: b('a'), revision: r(2) })), { revision: r(3), kvs: [kvOf('a', '2', r(1), r(2), 2)], count: 1, more: false });
    await rejects(kv.compact(r(2)), 'ERR_COMPACTED');
    await rejects(kv.compact(r(1)), 'ERR_COMPACTED');
    await rejects(kv.compact(r(4)), 'ERR_FUTURE_REV');
    assert.equal(plain(await kv.compact(r(3))), { revision: r(3) });
    await rejects(kv.range({ key: b('a'), revision: r(2) }), 'ERR_COMPACTED');
    await kv.put({ key: b('a'), value: b('4') });
    assert.equal(plain(await kv.compact(r(4), true)), { revision: r(4) });
    assert.equal(plain(await kv.range({ key: b('a') })), { revision: r(4), kvs: [kvOf('a', '4', r(1), r(4), 4)], count: 1, more: false });
  });

  each(
    'onCommit hears each write txn once, in revision order, with its events in op order and prev_kvs',
    async (kv, r) => {
      const heard: Array<[number, unknown]> = [];
      // A store never calls it without events; the upstream mirror may (an etcd progress notice).
      const listen = (rev: number, events: readonly Event[]) => {
        if (events.length > 0 || !caps.emptyCommits) heard.push([rev, plain(events)]);
      };
      assert.type(kv.onCommit, 'function');
      const off = kv.onCommit!(listen);
      await kv.put({ key: b('a'), value: b('1') });
      await kv.txn({ compare: [], success: [{ put: { key: b('b'), value: b('1') } }, { put: { key: b('a'), value: b('2') } }], failure: [] });
      await kv.deleteRange({ key: b('zz') });
      await kv.txn({ compare: [], success: [{ range: { key: b('a') } }], failure: [] });
      await kv.deleteRange({ key: b('a') });
      off();
      await kv.put({ key: b('c'), value: b('1') });
      assert.equal(heard, [
        [r(1), [{ type: 'PUT', kv: kvOf('a', '1', r(1), r(1), 1) }]],
        [r(2), [{ type: 'PUT', kv: kvOf('b', '1', r(2), r(2), 1) }, { type: 'PUT', kv: kvOf('a', '2', r(1), r(2), 2), prevKv: kvOf('a', '1', r(1), r(1), 1) }]],
        [r(3), [{ type: 'DELETE', kv: tombstone('a', r(3)), prevKv: kvOf('a', '2', r(1), r(2), 2) }]],
      ]);
    },
    'commits',
  );
}
