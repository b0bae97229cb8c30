/**
 * The exit codes scripts can rely on (README "CLI"). Each failure prints one line on stderr.
 */
import { ClosedError, ConnectionError, WatchKvClientError } from '../client/node.ts';

export const EXIT = {
  /** Done (a txn whose compare failed is still a success: it printed FAILURE, as etcdctl). */
  OK: 0,
  /** The server refused the request (its gRPC code is in the message), or the check failed (endpoint health). */
  SERVER_ERROR: 1,
  /** Bad command line or input file (unknown flag, missing argument, malformed NDJSON or txn). */
  USAGE: 2,
  /** No endpoint could be reached. */
  UNREACHABLE: 3,
  /** A watch ended because its revision was compacted (or the server canceled it). */
  WATCH_ENDED: 4,
  /** Interrupted (Ctrl-C) during an import or export (the output is incomplete) or at a password prompt. */
  INTERRUPTED: 130,
} as const;

/** Bad user input found after parsing (a malformed txn line, NDJSON record, lease ID, ...). */
export class UsageError extends Error {}

/** The person pressed Ctrl-C at a prompt. */
export class InterruptedError extends Error {}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.USAGE;
  if (err instanceof InterruptedError) return EXIT.INTERRUPTED;
  if (err instanceof ConnectionError) return EXIT.UNREACHABLE;
  if (err instanceof ClosedError) return EXIT.OK;
  if (err instanceof WatchKvClientError) return EXIT.SERVER_ERROR;
  return EXIT.SERVER_ERROR;
}

export function describe(err: unknown): string {
  if (err instanceof WatchKvClientError && err.grpcCode) return `${err.message} (code ${err.grpcCode})`;
  return err instanceof Error ? err.message : String(err);
}
