import type { KeyValue, RangeRequest, RangeResult, SortTarget } from './kv.ts';
import type { KeyAt, KeyIndex } from './key-index.ts';
import type { TreeIndex } from './tree-index.ts';
import { normaliseEnd } from './key-range.ts';

/** Where a range finds values: memory first, the backend for the rest. */
export interface ValueSource {
  readonly index: TreeIndex;
  /** The kv of `ki` at revision `at.mod` when it is in memory, else undefined. */
  cached(ki: KeyIndex, at: KeyAt): KeyValue | undefined;
  /** Reads kvs by revision from the backend, in order. */
  load(refs: ReadonlyArray<{ ki: KeyIndex; at: KeyAt }>): Promise<KeyValue[]>;
}

/**
 * Runs a range request at revision `atRev` (already checked against compaction and the
 * current revision) and reports `headerRev` as its revision. Follows etcd's applyRange step by
 * step, quirks included: with a sort or a filter every key is fetched and the limit applies
 * last; without them only limit+1 kvs are read (the extra one sets `more`); a non-KEY sort
 * target with order NONE sorts ascending; `count` ignores the filters.
 */
export async function rangeQuery(src: ValueSource, req: RangeRequest, atRev: number, headerRev: number): Promise<RangeResult> {
  const refs: Array<{ ki: KeyIndex; at: KeyAt }> = [];
  src.index.range(req.key, normaliseEnd(req.rangeEnd), atRev, (ki, at) => {
    refs.push({ ki, at });
  });
  const count = refs.length;
  if (req.countOnly) return { revision: headerRev, kvs: [], count, more: false };

  return finishRange(req, await fetchValues(src, refs, fetchCount(req, count)), count, headerRev);
}

/**
 * How many of the `count` keys in range etcd reads: all of them with a sort order or a filter
 * (the limit applies last), else limit+1 (the extra one sets `more`). A non-KEY sort target with
 * order NONE still reads only limit+1 and sorts those: etcd's quirk, kept.
 */
export function fetchCount(req: RangeRequest, count: number): number {
  const limit = req.limit ?? 0;
  const hasFilter = Boolean(req.minModRevision || req.maxModRevision || req.minCreateRevision || req.maxCreateRevision);
  const fetchAll = (req.sortOrder ?? 'NONE') !== 'NONE' || hasFilter;
  return fetchAll || limit <= 0 ? count : Math.min(limit + 1, count);
}

/**
 * The part of etcd's applyRange after the keys are read, shared by every KV (the store here,
 * the upstream mirror): revision filters, the sort (a non-KEY target with order NONE sorts
 * ascending), then the limit (`more` when it cut), then keys_only. `kvs` are in key order.
 */
export function finishRange(req: RangeRequest, fetched: KeyValue[], count: number, headerRev: number): RangeResult {
  let kvs = fetched;
  const limit = req.limit ?? 0;
  let order = req.sortOrder ?? 'NONE';
  const target: SortTarget = req.sortTarget ?? 'KEY';
  if (req.minModRevision || req.maxModRevision || req.minCreateRevision || req.maxCreateRevision) {
    kvs = kvs.filter(
      (kv) =>
        (!req.maxModRevision || kv.modRevision <= req.maxModRevision) &&
        (!req.minModRevision || kv.modRevision >= req.minModRevision) &&
        (!req.maxCreateRevision || kv.createRevision <= req.maxCreateRevision) &&
        (!req.minCreateRevision || kv.createRevision >= req.minCreateRevision),
    );
  }
  if (target !== 'KEY' && order === 'NONE') order = 'ASCEND';
  if (order !== 'NONE') {
    const cmp = comparator(target);
    kvs.sort(order === 'DESCEND' ? (a, b) => cmp(b, a) : cmp);
  }
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs.length = limit;
    more = true;
  }
  if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { revision: headerRev, kvs, count, more };
}

const EMPTY = Buffer.alloc(0);

async function fetchValues(src: ValueSource, refs: Array<{ ki: KeyIndex; at: KeyAt }>, n: number): Promise<KeyValue[]> {
  const out: KeyValue[] = new Array(n);
  let missing: number[] | undefined;
  for (let i = 0; i < n; i++) {
    const ref = refs[i]!;
    const kv = src.cached(ref.ki, ref.at);
    if (kv) out[i] = kv;
    else (missing ??= []).push(i);
  }
  if (missing) {
    const loaded = await src.load(missing.map((i) => refs[i]!));
    missing.forEach((i, j) => (out[i] = loaded[j]!));
  }
  return out;
}

function comparator(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case 'KEY':
      return (a, b) => Buffer.compare(a.key, b.key);
    case 'VERSION':
      return (a, b) => a.version - b.version;
    case 'CREATE':
      return (a, b) => a.createRevision - b.createRevision;
    case 'MOD':
      return (a, b) => a.modRevision - b.modRevision;
    case 'VALUE':
      return (a, b) => Buffer.compare(a.value, b.value);
  }
}
