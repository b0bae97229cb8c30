/**
 * etcdserverpb request messages (as @grpc/proto-loader decodes them: snake_case fields, int64 as
 * decimal strings, bytes as Buffers, enums as names, defaults filled, oneofs named) → store and
 * engine requests. The same conventions as the JSON gateway (src/api/json-requests.ts): an empty
 * range_end means the single key and "\0" every key from key on (mvcc/key-range.ts); for watches an
 * empty key becomes "\0", as etcd's v3rpc does.
 */
import type { AlarmRequest, Compare, CompareResult, CompareTarget, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, SortOrder, SortTarget, TxnRequest } from '../../mvcc/kv.ts';
import type { WatchRequest } from '../json-requests.ts';
import { kvError } from '../../errors.ts';

const EMPTY = Buffer.alloc(0);
const ZERO_KEY = Buffer.from([0]);

/** A decoded message: proto-loader gives plain objects. */
export type Msg = Record<string, unknown>;

const buf = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : EMPTY);
const int = (v: unknown): number => (v === undefined || v === null || v === '' ? 0 : Number(v));
export const int64 = (v: unknown): bigint => (v === undefined || v === null || v === '' ? 0n : BigInt(v as string));
const end = (v: unknown): Buffer | undefined => (Buffer.isBuffer(v) && v.length > 0 ? v : undefined);

function oneOf<T extends string>(v: unknown, names: readonly T[], type: string): T {
  if (typeof v === 'string' && (names as readonly string[]).includes(v)) return v as T;
  if (v === undefined || v === null) return names[0]!;
  // An enum number this version does not know: grpc-go would keep the number and etcd ignore it;
  // refusing says what is wrong instead of guessing.
  throw kvError('ERR_INVALID_ARGUMENT', `unknown value ${String(v)} for enum ${type}`);
}

const SORT_ORDER = ['NONE', 'ASCEND', 'DESCEND'] as const;
const SORT_TARGET = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'] as const;
const CMP_RESULT = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'] as const;
const CMP_TARGET = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as const;

export function decodeRange(m: Msg): RangeRequest {
  return {
    key: buf(m.key),
    rangeEnd: end(m.range_end),
    serializable: m.serializable === true,
    revision: int(m.revision),
    limit: int(m.limit),
    sortOrder: oneOf<SortOrder>(m.sort_order, SORT_ORDER, 'etcdserverpb.RangeRequest_SortOrder'),
    sortTarget: oneOf<SortTarget>(m.sort_target, SORT_TARGET, 'etcdserverpb.RangeRequest_SortTarget'),
    keysOnly: m.keys_only === true,
    countOnly: m.count_only === true,
    minModRevision: int(m.min_mod_revision),
    maxModRevision: int(m.max_mod_revision),
    minCreateRevision: int(m.min_create_revision),
    maxCreateRevision: int(m.max_create_revision),
  };
}

export function decodePut(m: Msg): PutRequest {
  const req: PutRequest = {
    key: buf(m.key),
    value: buf(m.value),
    lease: int64(m.lease),
    prevKv: m.prev_kv === true,
    ignoreValue: m.ignore_value === true,
    ignoreLease: m.ignore_lease === true,
  };
  // etcd's checkPutRequest: the empty key is reported first (by the store), then these.
  if (req.key.length > 0 && req.ignoreValue && req.value.length > 0) throw kvError('ERR_VALUE_PROVIDED');
  if (req.key.length > 0 && req.ignoreLease && req.lease !== 0n) throw kvError('ERR_LEASE_PROVIDED');
  return req;
}

export function decodeDeleteRange(m: Msg): DeleteRangeRequest {
  return { key: buf(m.key), rangeEnd: end(m.range_end), prevKv: m.prev_kv === true };
}

function decodeCompare(m: Msg): Compare {
  return {
    key: buf(m.key),
    rangeEnd: end(m.range_end),
    target: oneOf<CompareTarget>(m.target, CMP_TARGET, 'etcdserverpb.Compare_CompareTarget'),
    result: oneOf<CompareResult>(m.result, CMP_RESULT, 'etcdserverpb.Compare_CompareResult'),
    version: int(m.version),
    createRevision: int(m.create_revision),
    modRevision: int(m.mod_revision),
    value: buf(m.value),
    lease: int64(m.lease),
  };
}

function decodeOp(m: Msg): RequestOp {
  switch (m.request) {
    case 'request_range':
      return { range: decodeRange(m.request_range as Msg) };
    case 'request_put':
      return { put: decodePut(m.request_put as Msg) };
    case 'request_delete_range':
      return { deleteRange: decodeDeleteRange(m.request_delete_range as Msg) };
    case 'request_txn':
      return { txn: decodeTxn(m.request_txn as Msg) };
    default:
      throw kvError('ERR_INVALID_ARGUMENT', 'request op has no request_range, request_put, request_delete_range or request_txn');
  }
}

const list = (v: unknown): Msg[] => (Array.isArray(v) ? (v as Msg[]) : []);

export function decodeTxn(m: Msg): TxnRequest {
  return { compare: list(m.compare).map(decodeCompare), success: list(m.success).map(decodeOp), failure: list(m.failure).map(decodeOp) };
}

export function decodeCompaction(m: Msg): { revision: number; physical: boolean } {
  return { revision: int(m.revision), physical: m.physical === true };
}

const ALARM_ACTION = ['GET', 'ACTIVATE', 'DEACTIVATE'] as const;
const ALARM_TYPE = ['NONE', 'NOSPACE', 'CORRUPT'] as const;

/** An AlarmRequest (memberID is a uint64, carried as bigint). */
export function decodeAlarmRequest(m: Msg): AlarmRequest {
  return {
    action: oneOf(m.action, ALARM_ACTION, 'etcdserverpb.AlarmRequest_AlarmAction'),
    memberId: BigInt.asUintN(64, int64(m.memberID)),
    alarm: oneOf(m.alarm, ALARM_TYPE, 'etcdserverpb.AlarmType'),
  };
}

/** HashKVRequest's revision; beyond ±2^53 is refused rather than rounded. */
export function decodeHashKvRevision(m: Msg): number {
  const n = int(m.revision);
  if (!Number.isSafeInteger(n)) throw kvError('ERR_INVALID_ARGUMENT', `revision: ${String(m.revision)} is beyond the integers watchkv accepts (±2^53)`);
  return n;
}

/** A WatchRequest; undefined when no member of the union is set (etcd ignores those). */
export function decodeWatchRequest(m: Msg): WatchRequest | undefined {
  switch (m.request_union) {
    case 'create_request': {
      const c = m.create_request as Msg;
      const key = buf(c.key);
      const rangeEnd = buf(c.range_end);
      const filters = Array.isArray(c.filters) ? (c.filters as unknown[]) : [];
      return {
        create: {
          key: key.length > 0 ? key : ZERO_KEY,
          rangeEnd: rangeEnd.length === 0 ? undefined : rangeEnd,
          startRevision: int(c.start_revision),
          progressNotify: c.progress_notify === true,
          prevKv: c.prev_kv === true,
          noPut: filters.includes('NOPUT'),
          noDelete: filters.includes('NODELETE'),
          watchId: int(c.watch_id),
          fragment: c.fragment === true,
        },
      };
    }
    case 'cancel_request':
      return { cancel: int((m.cancel_request as Msg).watch_id) };
    case 'progress_request':
      return { progress: true };
    default:
      return undefined;
  }
}
