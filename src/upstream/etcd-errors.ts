/**
 * etcd's gRPC errors → watchkv's typed errors, so every transport reports a forwarded failure
 * through the one error map (src/api/error-map.ts) as it reports its own. etcd's messages are
 * the catalogue's messages (errors.ts follows etcd's wording), so most map by message; the rest
 * by gRPC status.
 */
import { ERROR_MESSAGES, isKvError, kvError, type ErrorCode, type WatchKvError } from '../errors.ts';

const BY_MESSAGE = new Map<string, ErrorCode>(Object.entries(ERROR_MESSAGES).map(([code, msg]) => [msg, code as ErrorCode]));

/** gRPC status codes (grpc-js status). */
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const PERMISSION_DENIED = 7;
const RESOURCE_EXHAUSTED = 8;
const FAILED_PRECONDITION = 9;
const OUT_OF_RANGE = 11;
const UNAUTHENTICATED = 16;

export function upstreamError(err: unknown): WatchKvError {
  if (isKvError(err)) return err;
  const e = err as { code?: number; details?: string; message?: string };
  const details = e.details ?? e.message ?? String(err);
  const known = BY_MESSAGE.get(details);
  if (known) return kvError(known, undefined, err);
  switch (e.code) {
    case INVALID_ARGUMENT:
    case OUT_OF_RANGE:
    case FAILED_PRECONDITION:
      return kvError('ERR_INVALID_ARGUMENT', details, err);
    case NOT_FOUND:
      return kvError('ERR_NOT_FOUND', details, err);
    case PERMISSION_DENIED:
      return kvError('ERR_PERMISSION_DENIED', details, err);
    case UNAUTHENTICATED:
      return kvError('ERR_AUTH_INVALID_TOKEN', details, err);
    case RESOURCE_EXHAUSTED:
      return kvError('ERR_NO_SPACE', details, err);
    default:
      // Unavailable, deadline, cancelled, a member gone mid-call: the cluster could not answer.
      return kvError('ERR_UNAVAILABLE', `upstream etcd: ${details}`, err);
  }
}
