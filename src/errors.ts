/**
 * The error catalogue. Every error watchkv reports carries a stable `code`; tests assert on codes,
 * never on messages. How a code reaches a client (HTTP status, gRPC code, WebSocket frame) is
 * decided in one place: src/api/error-map.ts. This file imports nothing from the project.
 *
 * Messages follow etcd's wording where etcd has the same error, so etcd users recognise them.
 */

export const ERROR_MESSAGES = {
  // Revisions
  ERR_COMPACTED: 'etcdserver: mvcc: required revision has been compacted',
  ERR_FUTURE_REV: 'etcdserver: mvcc: required revision is a future revision',
  // Request validation
  ERR_INVALID_ARGUMENT: 'invalid argument',
  ERR_KEY_NOT_PROVIDED: 'etcdserver: key is not provided',
  ERR_KEY_NOT_FOUND: 'etcdserver: key not found',
  ERR_DUPLICATE_KEY: 'etcdserver: duplicate key given in txn request',
  ERR_TOO_MANY_OPS: 'etcdserver: too many operations in txn request',
  ERR_REQUEST_TOO_LARGE: 'etcdserver: request is too large',
  ERR_MESSAGE_TOO_LARGE: 'request body is larger than the limit',
  // Watch
  ERR_WATCH_EMPTY_RANGE: 'mvcc: watcher range is empty',
  ERR_WATCH_DUPLICATE_ID: 'mvcc: duplicate watch ID provided on the WatchStream',
  ERR_WATCH_UNKNOWN_ID: 'mvcc: watch ID not found on the WatchStream',
  ERR_TOO_MANY_WATCHERS: 'too many watchers on this stream',
  ERR_TOO_MANY_STREAMS: 'too many watch streams on this server',
  // Leases
  ERR_LEASE_NOT_FOUND: 'etcdserver: requested lease not found',
  ERR_LEASE_EXISTS: 'etcdserver: lease already exists',
  ERR_LEASE_TTL_TOO_LARGE: 'etcdserver: too large lease TTL',
  // Availability and storage
  ERR_UNAVAILABLE: 'etcdserver: server is unavailable',
  ERR_STOPPED: 'etcdserver: server stopped',
  ERR_NO_SPACE: 'etcdserver: mvcc: database space exceeded',
  /** The CORRUPT alarm is raised (Maintenance.Alarm): writes are refused until it is disarmed. */
  ERR_CORRUPT_ALARM: 'etcdserver: corrupt cluster',
  ERR_STORAGE: 'storage write failed',
  ERR_CORRUPT: 'data directory is corrupt or not a watchkv data directory',
  ERR_NOT_FOUND: 'not found',
  ERR_NOT_SUPPORTED: 'not supported by this server',
  // Maintenance and membership (etcd's wording)
  ERR_BAD_LEADER_TRANSFEREE: 'etcdserver: bad leader transferee',
  ERR_MEMBER_NOT_FOUND: 'etcdserver: member not found',
  ERR_MEMBER_NOT_LEARNER: 'etcdserver: can only promote a learner member',
  // Plain REST (/v1/kv): an If-Match / If-None-Match that does not hold
  ERR_PRECONDITION_FAILED: 'precondition failed',
  // Backup
  ERR_SNAPSHOT_INVALID: 'snapshot file is invalid',
  // Request validation done by the API layer, as etcd's v3rpc does
  ERR_VALUE_PROVIDED: 'etcdserver: value is provided',
  ERR_LEASE_PROVIDED: 'etcdserver: lease is provided',
  // Auth (etcd's v3rpc/rpctypes wording)
  ERR_AUTH_ROOT_USER_NOT_EXIST: 'etcdserver: root user does not exist',
  ERR_AUTH_ROOT_ROLE_NOT_EXIST: 'etcdserver: root user does not have root role',
  ERR_AUTH_USER_EXISTS: 'etcdserver: user name already exists',
  ERR_AUTH_USER_EMPTY: 'etcdserver: user name is empty',
  ERR_AUTH_USER_NOT_FOUND: 'etcdserver: user name not found',
  ERR_AUTH_ROLE_EXISTS: 'etcdserver: role name already exists',
  ERR_AUTH_ROLE_NOT_FOUND: 'etcdserver: role name not found',
  ERR_AUTH_ROLE_EMPTY: 'etcdserver: role name is empty',
  ERR_AUTH_FAILED: 'etcdserver: authentication failed, invalid user ID or password',
  ERR_PERMISSION_DENIED: 'etcdserver: permission denied',
  ERR_AUTH_ROLE_NOT_GRANTED: 'etcdserver: role is not granted to the user',
  ERR_AUTH_PERMISSION_NOT_GRANTED: 'etcdserver: permission is not granted to the role',
  ERR_AUTH_NOT_ENABLED: 'etcdserver: authentication is not enabled',
  ERR_AUTH_INVALID_TOKEN: 'etcdserver: invalid auth token',
  ERR_AUTH_OLD_REVISION: 'etcdserver: revision of auth store is old',
  ERR_AUTH_VERIFY_ONLY: 'auth: token signing attempted with verify-only key',
  ERR_AUTH_INVALID_MGMT: 'etcdserver: invalid auth management',
  ERR_AUTH_NO_PASSWORD_USER: 'auth: authentication failed, password was given for no password user',
  // etcd 3.4's Maintenance server (Snapshot, Defragment, Hash, HashKV) checks for root itself and
  // returns its auth package's error unconverted (`auth: permission denied`, ...); the message varies.
  ERR_AUTH_MAINTENANCE: 'auth: permission denied',
  // Browser safety: a request whose Origin is neither the server's own nor in --cors
  ERR_ORIGIN_NOT_ALLOWED: 'origin not allowed',
} as const;

export type ErrorCode = keyof typeof ERROR_MESSAGES;

/** The one error type watchkv throws on purpose. Anything else reaching a client is a bug. */
export class WatchKvError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_MESSAGES[code], options);
    this.name = 'WatchKvError';
    this.code = code;
  }
}

/** Shorthand: `throw kvError('ERR_COMPACTED')`. */
export function kvError(code: ErrorCode, message?: string, cause?: unknown): WatchKvError {
  return new WatchKvError(code, message, cause === undefined ? undefined : { cause });
}

export function isKvError(err: unknown, code?: ErrorCode): err is WatchKvError {
  return err instanceof WatchKvError && (code === undefined || err.code === code);
}
