/**
 * The one set of permission checks every transport calls (gateway, /v1 REST, gRPC, WebSocket,
 * SSE), on decoded requests, before the store sees them — as etcd's v3 server checks each
 * request in its apply path (checkRangeRequest, checkPutRequest, checkTxnReqsPermission, ...).
 * Each throws the typed auth error; error-map.ts turns it into the transport's answer.
 */
import { isKvError, kvError, type ErrorCode } from '../errors.ts';
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../mvcc/kv.ts';
import type { AuthInfo, AuthStore } from './auth-store.ts';

/** What an operation needs: the kind of access and the key range. */
export type Access =
  | { kind: 'range'; req: RangeRequest }
  | { kind: 'put'; req: PutRequest }
  | { kind: 'deleteRange'; req: DeleteRangeRequest }
  | { kind: 'txn'; req: TxnRequest }
  /** rangeEnd in the KV convention (undefined: one key; "\0": every key from key on). */
  | { kind: 'watch'; key: Buffer; rangeEnd?: Buffer }
  /** The keys attached to a lease being revoked: write on each (etcd's LeaseRevoke check). */
  | { kind: 'leaseRevoke'; keys: readonly Buffer[] }
  /** Compaction, auth administration, membership changes, raising or disarming an alarm: root only. */
  | { kind: 'admin' };

export function authorize(auth: AuthStore, info: AuthInfo | undefined, access: Access): void {
  if (!auth.enabled) return;
  switch (access.kind) {
    case 'range':
      return auth.checkRead(info, access.req.key, access.req.rangeEnd);
    case 'put':
      auth.checkWrite(info, access.req.key);
      if (access.req.prevKv) auth.checkRead(info, access.req.key);
      return;
    case 'deleteRange':
      auth.checkWrite(info, access.req.key, access.req.rangeEnd);
      if (access.req.prevKv) auth.checkRead(info, access.req.key, access.req.rangeEnd);
      return;
    case 'txn':
      // Even a txn with no keys (etcd serves it as a read, which checks the token's revision).
      auth.checkFresh(info);
      return checkTxn(auth, info, access.req);
    case 'watch':
      return auth.checkRead(info, access.key, access.rangeEnd);
    case 'leaseRevoke':
      // A lease with no keys needs nothing (etcd's checkLeasePuts).
      for (const k of access.keys) auth.checkWrite(info, k);
      return;
    case 'admin':
      return auth.checkAdmin(info);
  }
}

/**
 * What an alarm request needs, for both transports: listing needs nothing (etcd 3.4 checks nothing
 * either); raising or disarming one needs root while auth is on. etcd 3.4 lets any caller, even one
 * with no credentials, raise NOSPACE, which refuses every write after it: watchkv does not
 * (README, where watchkv differs).
 */
export function alarmAccess(action: 'GET' | 'ACTIVATE' | 'DEACTIVATE'): Access | undefined {
  return action === 'GET' ? undefined : { kind: 'admin' };
}

/** Every key a txn touches: compares need read, ops their own access, nested txns recursively. */
function checkTxn(auth: AuthStore, info: AuthInfo | undefined, txn: TxnRequest): void {
  for (const c of txn.compare) auth.checkRead(info, c.key, c.rangeEnd);
  const ops = (list: readonly RequestOp[]): void => {
    for (const op of list) {
      if ('range' in op) authorize(auth, info, { kind: 'range', req: op.range });
      else if ('put' in op) authorize(auth, info, { kind: 'put', req: op.put });
      else if ('deleteRange' in op) authorize(auth, info, { kind: 'deleteRange', req: op.deleteRange });
      else checkTxn(auth, info, op.txn);
    }
  };
  ops(txn.success);
  ops(txn.failure);
}

/** etcd's auth package's own words for what a root check can fail with (auth/store.go). */
const AUTH_PACKAGE_WORDS: Partial<Record<ErrorCode, string>> = {
  ERR_AUTH_USER_EMPTY: 'auth: user name is empty',
  ERR_AUTH_USER_NOT_FOUND: 'auth: user not found',
  ERR_PERMISSION_DENIED: 'auth: permission denied',
  ERR_AUTH_INVALID_TOKEN: 'auth: invalid auth token',
};

/**
 * The root check of etcd 3.4's Maintenance server (Snapshot, Defragment, Hash, HashKV; and the
 * token of an Alarm, which etcd resolves in its apply path and returns unconverted), which
 * returns its auth package's errors as they are: gRPC Unknown (HTTP 500), worded `auth: ...`
 * where the other services say `etcdserver: ...` with their own codes. Runs `check` (resolving
 * the caller's credential and authorizing), returns what it returns, and rewords what it throws, so clients see
 * exactly what etcd sends (etcdctl prints `Error: auth: permission denied`).
 */
export function maintenanceAuth<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    const words = isKvError(err) ? AUTH_PACKAGE_WORDS[err.code] : undefined;
    if (words === undefined) throw err;
    throw kvError('ERR_AUTH_MAINTENANCE', words, err);
  }
}
