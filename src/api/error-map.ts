/**
 * The only place where an error becomes an HTTP status + gRPC code + message. Statuses follow
 * the grpc-gateway v1 mapping etcd 3.4 serves (reference §B): InvalidArgument/OutOfRange → 400,
 * NotFound → 404, PermissionDenied → 403, Unauthenticated → 401, ResourceExhausted → 429, FailedPrecondition → 412, Unavailable → 503.
 */
import { ERROR_MESSAGES, isKvError, kvError, type ErrorCode, type WatchKvError } from '../errors.ts';

const GRPC: Record<ErrorCode, number> = {
  ERR_COMPACTED: 11,
  ERR_FUTURE_REV: 11,
  ERR_INVALID_ARGUMENT: 3,
  ERR_KEY_NOT_PROVIDED: 3,
  ERR_KEY_NOT_FOUND: 3,
  ERR_DUPLICATE_KEY: 3,
  ERR_TOO_MANY_OPS: 3,
  ERR_REQUEST_TOO_LARGE: 3,
  ERR_MESSAGE_TOO_LARGE: 8,
  ERR_WATCH_EMPTY_RANGE: 3,
  ERR_WATCH_DUPLICATE_ID: 3,
  ERR_WATCH_UNKNOWN_ID: 3,
  ERR_TOO_MANY_WATCHERS: 8,
  ERR_TOO_MANY_STREAMS: 8,
  ERR_LEASE_NOT_FOUND: 5,
  ERR_LEASE_EXISTS: 9,
  ERR_LEASE_TTL_TOO_LARGE: 11,
  ERR_UNAVAILABLE: 14,
  ERR_STOPPED: 14,
  ERR_NO_SPACE: 8,
  ERR_CORRUPT_ALARM: 15,
  ERR_STORAGE: 14,
  ERR_CORRUPT: 13,
  ERR_NOT_FOUND: 5,
  ERR_NOT_SUPPORTED: 12,
  ERR_BAD_LEADER_TRANSFEREE: 9,
  ERR_MEMBER_NOT_FOUND: 5,
  ERR_MEMBER_NOT_LEARNER: 9,
  ERR_PRECONDITION_FAILED: 9,
  ERR_SNAPSHOT_INVALID: 3,
  ERR_VALUE_PROVIDED: 3,
  ERR_LEASE_PROVIDED: 3,
  ERR_AUTH_ROOT_USER_NOT_EXIST: 9,
  ERR_AUTH_ROOT_ROLE_NOT_EXIST: 9,
  ERR_AUTH_USER_EXISTS: 9,
  ERR_AUTH_USER_EMPTY: 3,
  ERR_AUTH_USER_NOT_FOUND: 9,
  ERR_AUTH_ROLE_EXISTS: 9,
  ERR_AUTH_ROLE_NOT_FOUND: 9,
  ERR_AUTH_ROLE_EMPTY: 3,
  ERR_AUTH_FAILED: 3,
  ERR_PERMISSION_DENIED: 7,
  ERR_AUTH_ROLE_NOT_GRANTED: 9,
  ERR_AUTH_PERMISSION_NOT_GRANTED: 9,
  ERR_AUTH_NOT_ENABLED: 9,
  ERR_AUTH_INVALID_TOKEN: 16,
  ERR_AUTH_OLD_REVISION: 3,
  ERR_AUTH_INVALID_MGMT: 3,
  // etcd 3.4 returns this one as a plain error: gRPC Unknown, HTTP 500.
  ERR_AUTH_NO_PASSWORD_USER: 2,
  ERR_AUTH_VERIFY_ONLY: 2,
  ERR_AUTH_MAINTENANCE: 2,
  ERR_ORIGIN_NOT_ALLOWED: 7,
};

const HTTP_OF_GRPC: Record<number, [number, string]> = {
  2: [500, 'Internal Server Error'],
  3: [400, 'Bad Request'],
  5: [404, 'Not Found'],
  7: [403, 'Forbidden'],
  8: [429, 'Too Many Requests'],
  9: [412, 'Precondition Failed'],
  11: [400, 'Bad Request'],
  12: [501, 'Not Implemented'],
  13: [500, 'Internal Server Error'],
  14: [503, 'Service Unavailable'],
  15: [500, 'Internal Server Error'],
  16: [401, 'Unauthorized'],
};

export interface MappedError {
  httpStatus: number;
  httpStatusText: string;
  grpcCode: number;
  message: string;
  /** True when the error is not one watchkv raises on purpose (a bug or an I/O failure): log it. */
  unexpected: boolean;
}

/** Errors raised by fastify itself (body limits, parsing) → our codes. */
function fromFastify(err: { code?: string; statusCode?: number; message: string }, maxBodyBytes: number): WatchKvError | undefined {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return kvError('ERR_MESSAGE_TOO_LARGE', `grpc: received message larger than max (more than ${maxBodyBytes} bytes)`);
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return kvError('ERR_INVALID_ARGUMENT', err.message);
  }
  return undefined;
}

export function mapError(err: unknown, maxBodyBytes = 0): MappedError {
  const known = isKvError(err) ? err : err instanceof Error ? fromFastify(err as never, maxBodyBytes) : undefined;
  const grpcCode = known ? GRPC[known.code] : 13;
  const [httpStatus, httpStatusText] = HTTP_OF_GRPC[grpcCode] ?? [500, 'Internal Server Error'];
  const message = known ? known.message : 'internal error';
  return { httpStatus, httpStatusText, grpcCode, message, unexpected: !known || grpcCode === 13 };
}

/**
 * A gRPC status as etcd's v3rpc sends it: the code and etcd's message as details. grpc-js takes
 * it as the error of a unary callback or the 'error' of a stream.
 */
export interface GrpcStatus {
  code: number;
  details: string;
  /** As MappedError.unexpected: log it. */
  unexpected: boolean;
}

export function grpcStatus(err: unknown): GrpcStatus {
  const m = mapError(err);
  return { code: m.grpcCode, details: m.message, unexpected: m.unexpected };
}

/** gRPC code names as grpc-go prints them (codes.Code.String()). */
const GRPC_CODE_NAMES = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated'];

/**
 * An error as grpc-go's status error prints it, `rpc error: code = PermissionDenied desc = …`:
 * etcd 3.4 puts that string in the cancel_reason of a watch it refuses to create, and etcdctl
 * prints it as `watch was canceled (…)`.
 */
export function grpcErrorString(err: unknown): string {
  const m = mapError(err);
  return `rpc error: code = ${GRPC_CODE_NAMES[m.grpcCode] ?? `Code(${m.grpcCode})`} desc = ${m.message}`;
}

/** Unary error body: `{"error", "message", "code"}`. */
export function errorBody(m: MappedError): string {
  const msg = JSON.stringify(m.message);
  return `{"error":${msg},"message":${msg},"code":${m.grpcCode}}`;
}

/** In-stream error object (WebSocket frame or streaming HTTP line), grpc-gateway's shape. */
export function streamErrorBody(m: MappedError): string {
  return `{"error":{"grpc_code":${m.grpcCode},"http_code":${m.httpStatus},"message":${JSON.stringify(m.message)},"http_status":${JSON.stringify(m.httpStatusText)}}}`;
}

export { ERROR_MESSAGES };

/**
 * WebSocket close codes (RFC 6455 §7.4.1) the sockets end with, with the reason each sends.
 * A close reason must fit a control frame (123 bytes): wsCloseReason trims an error message.
 */
export const WS_CLOSE = {
  /** 1001: the server is shutting down; reconnect elsewhere or later. */
  goingAway: { code: 1001, reason: 'server is shutting down' },
  /** 1008: the socket broke a rule (refused at the upgrade, unread for too long). */
  policyViolation: 1008,
  /** 1013: too many watch streams now; try again later. */
  tryAgainLater: 1013,
} as const;

export function wsCloseReason(message: string): string {
  return message.slice(0, 120);
}
