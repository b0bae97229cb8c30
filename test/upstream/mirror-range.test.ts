/**
 * The mirror's state and range against brute force: seeded random puts and deletes (several
 * per revision), then random ranges (single keys, prefixes, from-key, everything, empty ranges)
 * with limits, sorts, filters, keys_only and count_only, compared with a plain map filtered and
 * sorted the slow way, by etcd's rules (which keys it reads before sorting included). Also load() replacing the state (a relist).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Mirror } from '../../src/upstream/mirror.ts';
import type { Event, KeyValue, RangeRequest, SortOrder, SortTarget } from '../../src/mvcc/kv.ts';
import { prefixEnd } from '../../src/upstream/upstream-kv.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ORDERS: SortOrder[] = ['NONE', 'ASCEND', 'DESCEND'];
const TARGETS: SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];

function brute(state: Map<string, KeyValue>, req: RangeRequest, revision: number) {
  const inRange = (k: Buffer): boolean => {
    const end = req.rangeEnd;
    if (end === undefined) return k.equals(req.key);
    if (end.length === 1 && end[0] === 0) return Buffer.compare(k, req.key) >= 0;
    return Buffer.compare(k, req.key) >= 0 && Buffer.compare(k, end) < 0;
  };
  let kvs = [...state.values()].filter((kv) => inRange(kv.key)).sort((a, b) => Buffer.compare(a.key, b.key));
  const count = kvs.length;
  if (req.countOnly) return { revision, kvs: [], count, more: false };
  // etcd reads every key only with a sort order or a filter; otherwise limit+1 in key order, and
  // a non-KEY target with order NONE sorts just those (apply.go's quirk, which the store keeps).
  const filtered = Boolean(req.minModRevision || req.maxModRevision || req.minCreateRevision || req.maxCreateRevision);
  if ((req.sortOrder ?? 'NONE') === 'NONE' && !filtered && req.limit) kvs = kvs.slice(0, req.limit + 1);
  kvs = kvs.filter((kv) => (!req.minModRevision || kv.modRevision >= req.minModRevision) && (!req.maxModRevision || kv.modRevision <= req.maxModRevision) && (!req.minCreateRevision || kv.createRevision >= req.minCreateRevision) && (!req.maxCreateRevision || kv.createRevision <= req.maxCreateRevision));
  let order = req.sortOrder ?? 'NONE';
  const target = req.sortTarget ?? 'KEY';
  if (target !== 'KEY' && order === 'NONE') order = 'ASCEND';
  if (order !== 'NONE') {
    const val = (kv: KeyValue): number | Buffer => (target === 'KEY' ? kv.key : target === 'VALUE' ? kv.value : target === 'VERSION' ? kv.version : target === 'CREATE' ? kv.createRevision : kv.modRevision);
    const cmp = (a: KeyValue, b: KeyValue): number => {
      const x = val(a);
      const y = val(b);
      return Buffer.isBuffer(x) ? Buffer.compare(x, y as Buffer) : x - (y as number);
    };
    kvs.sort(order === 'DESCEND' ? (a, b) => cmp(b, a) : cmp); // stable, as Array.prototype.sort
  }
  let more = false;
  if (req.limit && kvs.length > req.limit) {
    kvs = kvs.slice(0, req.limit);
    more = true;
  }
  if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: Buffer.alloc(0) }));
  return { revision, kvs, count, more };
}

test('state and ranges equal brute force over random revisions (3 seeds)', () => {
  for (const seed of [1, 42, 20261202]) {
    const r = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const key = () => Buffer.from(`${pick(['a', 'b', 'ab', 'b/'])}${Math.floor(r() * 20)}`);
    const mirror = new Mirror();
    const model = new Map<string, KeyValue>();
    mirror.load([], 1);
    let rev = 1;
    for (let step = 0; step < 400; step++) {
      rev++;
      const events: Event[] = [];
      const touched = new Set<string>();
      for (let i = 0; i < 1 + Math.floor(r() * 3); i++) {
        const k = key();
        const id = k.toString('latin1');
        if (touched.has(id)) continue;
        touched.add(id);
        const old = model.get(id);
        if (r() < 0.3) {
          if (!old) continue;
          model.delete(id);
          events.push({ type: 'DELETE', kv: { key: k, createRevision: 0, modRevision: rev, version: 0, value: Buffer.alloc(0), lease: 0n }, prevKv: old });
        } else {
          const kv: KeyValue = { key: k, createRevision: old?.createRevision ?? rev, modRevision: rev, version: (old?.version ?? 0) + 1, value: Buffer.from(String(Math.floor(r() * 5))), lease: 0n };
          model.set(id, kv);
          events.push({ type: 'PUT', kv, prevKv: old });
        }
      }
      if (events.length === 0) {
        rev--;
        continue;
      }
      mirror.apply(rev, events);
      for (let q = 0; q < 3; q++) {
        const k = key();
        const shape = pick(['single', 'prefix', 'from', 'all', 'empty', 'range'] as const);
        const req: RangeRequest =
          shape === 'single'
            ? { key: k }
            : shape === 'prefix'
              ? { key: k.subarray(0, 1), rangeEnd: prefixEnd(k.subarray(0, 1)) }
              : shape === 'from'
                ? { key: k, rangeEnd: Buffer.of(0) }
                : shape === 'all'
                  ? { key: Buffer.of(0), rangeEnd: Buffer.of(0) }
                  : shape === 'empty'
                    ? { key: Buffer.from('b'), rangeEnd: Buffer.from('a') }
                    : { key: Buffer.from('a1'), rangeEnd: k };
        if (r() < 0.4) req.limit = 1 + Math.floor(r() * 5);
        if (r() < 0.4) {
          req.sortOrder = pick(ORDERS);
          req.sortTarget = pick(TARGETS);
        }
        if (r() < 0.2) req.minModRevision = Math.floor(r() * rev);
        if (r() < 0.2) req.maxCreateRevision = Math.floor(r() * rev);
        if (r() < 0.1) req.keysOnly = true;
        if (r() < 0.1) req.countOnly = true;
        const got = mirror.range(req);
        const want = brute(model, req, rev);
        assert.equal(
          { ...got, kvs: got.kvs.map((kv) => `${kv.key}=${kv.value}@${kv.modRevision}`) },
          { ...want, kvs: want.kvs.map((kv) => `${kv.key}=${kv.value}@${kv.modRevision}`) },
          `seed ${seed} rev ${rev} ${shape} ${JSON.stringify(req)}`,
        );
      }
    }
    assert.is(mirror.size, model.size);
  }
});

test('load replaces the whole state (a relist) at the new revision', () => {
  const m = new Mirror();
  const kv = (k: string, rev: number): KeyValue => ({ key: Buffer.from(k), createRevision: rev, modRevision: rev, version: 1, value: Buffer.from(k), lease: 0n });
  m.load([kv('b', 3), kv('a', 2)], 3);
  assert.equal(m.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0) }).kvs.map((x) => x.key.toString()), ['a', 'b']);
  m.load([kv('c', 9)], 9);
  const all = m.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0) });
  assert.equal([all.revision, all.kvs.map((x) => x.key.toString())], [9, ['c']]);
  m.advance(12);
  assert.is(m.range({ key: Buffer.from('c') }).revision, 12);
});

test.run();
