/**
 * etcd gateway request bodies → store/engine requests. Range ends keep etcd's meaning for the
 * store and the watch engine alike ("\0" = to the end of the keyspace, mvcc/key-range.ts); for
 * a watch an empty key becomes "\0", as etcd's gateway does.
 */
import type { Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../mvcc/kv.ts';
import type { LagNotifyOptions, WatchCreateRequest } from '../watch/watch-api.ts';
import { DEFAULTS } from '../config.ts';
import { kvError } from '../errors.ts';
import { asObject, field, readArray, readBigInt, readBool, readBytes, readEnum, readEnumList, readInt, readObject, type JsonObject } from './json-read.ts';

const EMPTY = Buffer.alloc(0);
const SORT_ORDER = ['NONE', 'ASCEND', 'DESCEND'] as const;
const SORT_TARGET = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'] as const;
const CMP_RESULT = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'] as const;
const CMP_TARGET = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as const;
const FILTER = ['NOPUT', 'NODELETE'] as const;

function rangeEnd(obj: JsonObject): Buffer | undefined {
  const b = readBytes(obj, 'range_end');
  return b && b.length > 0 ? b : undefined;
}

export function decodeRange(o: JsonObject): RangeRequest {
  return {
    serializable: readBool(o, 'serializable'),
    key: readBytes(o, 'key') ?? EMPTY,
    rangeEnd: rangeEnd(o),
    revision: readInt(o, 'revision'),
    limit: readInt(o, 'limit'),
    sortOrder: readEnum(o, 'sort_order', SORT_ORDER, 'etcdserverpb.RangeRequest_SortOrder') ?? 'NONE',
    sortTarget: readEnum(o, 'sort_target', SORT_TARGET, 'etcdserverpb.RangeRequest_SortTarget') ?? 'KEY',
    keysOnly: readBool(o, 'keys_only'),
    countOnly: readBool(o, 'count_only'),
    minModRevision: readInt(o, 'min_mod_revision'),
    maxModRevision: readInt(o, 'max_mod_revision'),
    minCreateRevision: readInt(o, 'min_create_revision'),
    maxCreateRevision: readInt(o, 'max_create_revision'),
  };
}

export function decodePut(o: JsonObject): PutRequest {
  const req = {
    key: readBytes(o, 'key') ?? EMPTY,
    value: readBytes(o, 'value') ?? EMPTY,
    lease: readBigInt(o, 'lease'),
    prevKv: readBool(o, 'prev_kv'),
    ignoreValue: readBool(o, 'ignore_value'),
    ignoreLease: readBool(o, 'ignore_lease'),
  };
  // etcd's checkPutRequest: the empty key is reported first (by the store), then these.
  if (req.key.length > 0 && req.ignoreValue && req.value.length > 0) throw kvError('ERR_VALUE_PROVIDED');
  if (req.key.length > 0 && req.ignoreLease && req.lease !== 0n) throw kvError('ERR_LEASE_PROVIDED');
  return req;
}

export function decodeDeleteRange(o: JsonObject): DeleteRangeRequest {
  return { key: readBytes(o, 'key') ?? EMPTY, rangeEnd: rangeEnd(o), prevKv: readBool(o, 'prev_kv') };
}

function decodeCompare(v: unknown): Compare {
  const o = asObject(v, 'compare');
  return {
    key: readBytes(o, 'key') ?? EMPTY,
    rangeEnd: rangeEnd(o),
    target: readEnum(o, 'target', CMP_TARGET, 'etcdserverpb.Compare_CompareTarget') ?? 'VERSION',
    result: readEnum(o, 'result', CMP_RESULT, 'etcdserverpb.Compare_CompareResult') ?? 'EQUAL',
    version: readInt(o, 'version'),
    createRevision: readInt(o, 'create_revision'),
    modRevision: readInt(o, 'mod_revision'),
    value: readBytes(o, 'value') ?? EMPTY,
    lease: readBigInt(o, 'lease'),
  };
}

function decodeOp(v: unknown): RequestOp {
  const o = asObject(v, 'request op');
  const range = readObject(o, 'request_range');
  if (range) return { range: decodeRange(range) };
  const put = readObject(o, 'request_put');
  if (put) return { put: decodePut(put) };
  const del = readObject(o, 'request_delete_range');
  if (del) return { deleteRange: decodeDeleteRange(del) };
  const txn = readObject(o, 'request_txn');
  if (txn) return { txn: decodeTxn(txn) };
  throw kvError('ERR_INVALID_ARGUMENT', 'request op has no request_range, request_put, request_delete_range or request_txn');
}

export function decodeTxn(o: JsonObject): TxnRequest {
  return {
    compare: readArray(o, 'compare').map(decodeCompare),
    success: readArray(o, 'success').map(decodeOp),
    failure: readArray(o, 'failure').map(decodeOp),
  };
}

export function decodeCompaction(o: JsonObject): { revision: number; physical: boolean } {
  return { revision: readInt(o, 'revision'), physical: readBool(o, 'physical') };
}

const ON_COMPACTED = ['cancel', 'resync'] as const;
const DELIVERY = ['exact', 'latest'] as const;

/**
 * The watchkv extensions of a create_request (README "Watch extensions"); absent fields leave
 * the request exactly etcd's. initial_state needs a watch from now (start_revision 0).
 */
export function decodeWatchExtensions(c: JsonObject): Pick<WatchCreateRequest, 'initialState' | 'onCompacted' | 'delivery' | 'lagNotify'> {
  const out: Pick<WatchCreateRequest, 'initialState' | 'onCompacted' | 'delivery' | 'lagNotify'> = {};
  if (readBool(c, 'initial_state')) {
    if (readInt(c, 'start_revision') !== 0) throw kvError('ERR_INVALID_ARGUMENT', 'initial_state needs start_revision 0: the state is read at the current revision');
    out.initialState = true;
  }
  const onCompacted = readEnum(c, 'on_compacted', ON_COMPACTED, 'on_compacted ("cancel" or "resync")');
  if (onCompacted) out.onCompacted = onCompacted;
  const delivery = readEnum(c, 'delivery', DELIVERY, 'delivery ("exact" or "latest")');
  if (delivery) out.delivery = delivery;
  const lag = lagNotifyOptions(readBool(c, 'lag_notify'), field(c, 'lag_notify_ms') === undefined ? undefined : readInt(c, 'lag_notify_ms'), field(c, 'lag_notify_revisions') === undefined ? undefined : readInt(c, 'lag_notify_revisions'));
  if (lag) out.lagNotify = lag;
  return out;
}

/**
 * Lag notices are on when asked (`lag_notify`) or when either threshold is given; a missing
 * threshold takes the server default. Thresholds must be positive.
 */
export function lagNotifyOptions(on: boolean, afterMs: number | undefined, behindRevisions: number | undefined): LagNotifyOptions | undefined {
  if (!on && afterMs === undefined && behindRevisions === undefined) return undefined;
  for (const [name, v] of [['lag_notify_ms', afterMs], ['lag_notify_revisions', behindRevisions]] as const) {
    if (v !== undefined && v <= 0) throw kvError('ERR_INVALID_ARGUMENT', `${name} must be a positive integer, got ${v}`);
  }
  return { afterMs: afterMs ?? DEFAULTS.watchLagNotifyAfterMs, behindRevisions: behindRevisions ?? DEFAULTS.watchLagNotifyRevisions };
}

export type WatchRequest =
  | { create: WatchCreateRequest }
  | { cancel: number }
  | { progress: true };

const ZERO_KEY = Buffer.from([0]);

export function decodeWatchRequest(o: JsonObject): WatchRequest {
  const c = readObject(o, 'create_request');
  if (c) {
    const key = readBytes(c, 'key');
    const end = readBytes(c, 'range_end');
    // An unknown filter number is accepted and filters nothing, as etcd does.
    const filters = readEnumList(c, 'filters', FILTER, 'etcdserverpb.WatchCreateRequest_FilterType');
    return {
      create: {
        key: key && key.length > 0 ? key : ZERO_KEY,
        rangeEnd: end === undefined || end.length === 0 ? undefined : end,
        startRevision: readInt(c, 'start_revision'),
        progressNotify: readBool(c, 'progress_notify'),
        prevKv: readBool(c, 'prev_kv'),
        noPut: filters.includes('NOPUT'),
        noDelete: filters.includes('NODELETE'),
        watchId: readInt(c, 'watch_id'),
        fragment: readBool(c, 'fragment'),
        ...decodeWatchExtensions(c),
      },
    };
  }
  const x = readObject(o, 'cancel_request');
  if (x) return { cancel: readInt(x, 'watch_id') };
  if (field(o, 'progress_request') !== undefined) {
    readObject(o, 'progress_request');
    return { progress: true };
  }
  throw kvError('ERR_INVALID_ARGUMENT', 'watch request has no create_request, cancel_request or progress_request');
}
