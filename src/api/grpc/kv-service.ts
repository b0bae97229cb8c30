/** etcdserverpb.KV over the same store as the HTTP gateway: Range, Put, DeleteRange, Txn, Compact. */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../context.ts';
import type { AuthInfo } from '../../auth/auth-store.ts';
import * as decode from './decode.ts';
import * as encode from './encode-kv.ts';
import { unary, type GrpcLog } from './unary.ts';
import { grpcAuthInfo } from './grpc-auth.ts';
import { authorize } from '../../auth/auth-check.ts';

/** Every KV response is encoded by hand (proto.ts gives these methods a pass-through serializer). */
export const KV_RAW_METHODS = ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact'] as const;
export type KvMethod = (typeof KV_RAW_METHODS)[number];

/** A KV call: the decoded request and who makes it → the encoded response. */
export type KvHandler = (m: decode.Msg, who: AuthInfo | undefined) => Promise<Buffer>;

/** The calls themselves (kvService wraps them with unary.ts, which both gRPC paths run). */
export function kvHandlers(ctx: ApiContext): Record<KvMethod, KvHandler> {
  const { kv, identity: id } = ctx;
  // Each decodes, checks the caller's access (auth-check.ts), then runs.
  return {
    Range: async (m, who) => {
      const r = decode.decodeRange(m);
      authorize(ctx.auth, who, { kind: 'range', req: r });
      return encode.encodeRangeResponse(id, await kv.range(r));
    },
    Put: async (m, who) => {
      const r = decode.decodePut(m);
      authorize(ctx.auth, who, { kind: 'put', req: r });
      return encode.encodePutResponse(id, await kv.put(r));
    },
    DeleteRange: async (m, who) => {
      const r = decode.decodeDeleteRange(m);
      authorize(ctx.auth, who, { kind: 'deleteRange', req: r });
      return encode.encodeDeleteRangeResponse(id, await kv.deleteRange(r));
    },
    Txn: async (m, who) => {
      const r = decode.decodeTxn(m);
      authorize(ctx.auth, who, { kind: 'txn', req: r });
      return encode.encodeTxnResponse(id, await kv.txn(r));
    },
    Compact: async (m, who) => {
      const c = decode.decodeCompaction(m);
      authorize(ctx.auth, who, { kind: 'admin' });
      const r = await kv.compact(c.revision, c.physical);
      return encode.encodeHeaderOnly(id, r.revision);
    },
  };
}

export function kvService(ctx: ApiContext, log: GrpcLog, handlers = kvHandlers(ctx)): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const name of KV_RAW_METHODS) out[name] = unary(log, name, (m, call) => handlers[name](m, grpcAuthInfo(ctx, call)));
  return out;
}
