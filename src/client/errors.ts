/**
 * Typed errors. Every error the server answers carries its gRPC code (`grpcCode`) and HTTP
 * status; the class says what kind of failure it is, so callers can `instanceof` instead of
 * matching messages. Transport failures (no endpoint reachable, a timeout) are ConnectionError.
 */

/** gRPC status codes the server uses (src/api/error-map.ts on the server side). */
export const GrpcCode = {
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  OutOfRange: 11,
  Internal: 13,
  Unavailable: 14,
  /** The server's CORRUPT alarm is raised: writes are refused until it is disarmed. */
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

export class WatchKvClientError extends Error {
  /** The server's gRPC code (0 for errors raised by the client itself). */
  readonly grpcCode: number;
  /** The HTTP status the server answered with (0 when there was no answer). */
  readonly httpStatus: number;

  constructor(message: string, grpcCode = 0, httpStatus = 0, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.grpcCode = grpcCode;
    this.httpStatus = httpStatus;
  }
}

/** 3: the request was malformed or not allowed (bad key, duplicate key in a txn, ...). */
export class InvalidArgumentError extends WatchKvClientError {}
/** 5: e.g. a lease that does not exist. */
export class NotFoundError extends WatchKvClientError {}
/** 8: a limit was hit (body too large, too many watch streams). */
export class ResourceExhaustedError extends WatchKvClientError {}
/** 9: a lease that already exists. */
export class FailedPreconditionError extends WatchKvClientError {}
/** 11: a revision outside what the server has. */
export class OutOfRangeError extends WatchKvClientError {}
/**
 * 11: the revision asked for was compacted away. From a watch, `compactRevision` is the oldest
 * revision still available (resume there after relisting); from a range, it is 0 (unknown).
 */
export class CompactedError extends OutOfRangeError {
  readonly compactRevision: number;
  constructor(message: string, compactRevision: number, httpStatus = 400) {
    super(message, GrpcCode.OutOfRange, httpStatus);
    this.compactRevision = compactRevision;
  }
}
/** 11: a revision newer than the server's. */
export class FutureRevisionError extends OutOfRangeError {}
/** 14 (or 13): the server is stopping or its storage failed; retry later. */
export class UnavailableError extends WatchKvClientError {}
/** 7: auth is on and the user may not do this (`etcdserver: permission denied`). */
export class PermissionDeniedError extends WatchKvClientError {}
/** 16: the token is not (or no longer) valid; with `auth` the client signs in again by itself. */
export class UnauthenticatedError extends WatchKvClientError {}
/** No endpoint answered (refused, reset, timed out). */
export class ConnectionError extends WatchKvClientError {}
/** The server canceled a watch for a reason other than compaction (cancel_reason says why). */
export class WatchCanceledError extends WatchKvClientError {}
/** An operation on a client (or watch, informer) that was closed. */
export class ClosedError extends WatchKvClientError {}

/** The error class for a server answer: `{"error"|"message", "code"}` with an HTTP status. */
export function errorFromServer(grpcCode: number, message: string, httpStatus: number): WatchKvClientError {
  switch (grpcCode) {
    case GrpcCode.InvalidArgument:
      return new InvalidArgumentError(message, grpcCode, httpStatus);
    case GrpcCode.NotFound:
      return new NotFoundError(message, grpcCode, httpStatus);
    case GrpcCode.ResourceExhausted:
      return new ResourceExhaustedError(message, grpcCode, httpStatus);
    case GrpcCode.FailedPrecondition:
      return new FailedPreconditionError(message, grpcCode, httpStatus);
    case GrpcCode.OutOfRange:
      if (message.includes('compacted')) return new CompactedError(message, 0, httpStatus);
      if (message.includes('future')) return new FutureRevisionError(message, grpcCode, httpStatus);
      return new OutOfRangeError(message, grpcCode, httpStatus);
    case GrpcCode.PermissionDenied:
      return new PermissionDeniedError(message, grpcCode, httpStatus);
    case GrpcCode.Unauthenticated:
      return new UnauthenticatedError(message, grpcCode, httpStatus);
    case GrpcCode.Unavailable:
    case GrpcCode.Internal:
      return new UnavailableError(message, grpcCode, httpStatus);
    default:
      return new WatchKvClientError(message, grpcCode, httpStatus);
  }
}
