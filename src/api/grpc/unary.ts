/**
 * Unary handlers: a request message in, a promise of the response out, any error through the
 * one error map (src/api/error-map.ts) as etcd's code and message.
 */
import { type sendUnaryData, type ServerUnaryCall, type UntypedHandleCall } from '@grpc/grpc-js';
import { grpcStatus } from '../error-map.ts';
import type { Msg } from './decode.ts';

export interface GrpcLog {
  error(obj: object, msg: string): void;
}

/** What a unary handler reads of its call: the metadata (the `token`) and, over TLS, the peer. */
export type UnaryCallInfo = Pick<ServerUnaryCall<Msg, unknown>, 'metadata'> & Partial<Pick<ServerUnaryCall<Msg, unknown>, 'getAuthContext'>>;

/** A unary handler as grpc-js calls it, with its request handler kept for the direct path. */
export type DirectUnary = UntypedHandleCall & { direct: (req: Msg, call: UnaryCallInfo) => Promise<unknown> | unknown };

export function unary<R>(log: GrpcLog, method: string, handle: (req: Msg, call: ServerUnaryCall<Msg, R>) => Promise<R> | R): DirectUnary {
  const handler = (call: ServerUnaryCall<Msg, R>, callback: sendUnaryData<R>) => {
    let result: Promise<R> | R;
    try {
      result = handle(call.request, call);
    } catch (err) {
      return fail(log, method, err, callback);
    }
    Promise.resolve(result).then(
      (r) => callback(null, r),
      (err) => fail(log, method, err, callback),
    );
  };
  // The handlers read only the call's metadata (and TLS peer), so the direct path (fast-unary.ts)
  // can run them with a call of its own making.
  return Object.assign(handler, { direct: handle as DirectUnary['direct'] });
}

/** `unary` handlers that the direct path can run (see DirectUnary). */
export function isDirectUnary(h: unknown): h is DirectUnary {
  return typeof h === 'function' && typeof (h as Partial<DirectUnary>).direct === 'function';
}

/** A failed call's etcd code and message; an error the map does not know is logged. */
export function errorStatus(log: GrpcLog, method: string, err: unknown): { code: number; details: string } {
  const s = grpcStatus(err);
  if (s.unexpected) log.error({ err, method }, 'gRPC request failed');
  return { code: s.code, details: s.details };
}

function fail(log: GrpcLog, method: string, err: unknown, callback: sendUnaryData<never>): void {
  callback(errorStatus(log, method, err));
}
