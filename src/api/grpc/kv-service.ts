/** etcdserverpb.KV over the same store as the HTTP gateway: Range, Put, DeleteRange, Txn, Compact. */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../context.ts';
import * as decode from './decode.ts';
import * as encode from './encode-kv.ts';
import { unary, type GrpcLog } from './unary.ts';
import { grpcAuthInfo } from './grpc-auth.ts';
import { authorize } from '../../auth/auth-check.ts';

/** Every KV response is encoded by hand (proto.ts gives these methods a pass-through serializer). */
export const KV_RAW_METHODS = ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact'] as const;

export function kvService(ctx: ApiContext, log: GrpcLog): UntypedServiceImplementation {
  const { kv, identity: id } = ctx;
  return {
    // Each decodes, checks the caller's access (auth-check.ts), then runs.
    Range: unary(log, 'Range', async (m, call) => {
      const r = decode.decodeRange(m);
      authorize(ctx.auth, grpcAuthInfo(ctx, call), { kind: 'range', req: r });
      return encode.encodeRangeResponse(id, await kv.range(r));
    }),
    Put: unary(log, 'Put', async (m, call) => {
      const r = decode.decodePut(m);
      authorize(ctx.auth, grpcAuthInfo(ctx, call), { kind: 'put', req: r });
      return encode.encodePutResponse(id, await kv.put(r));
    }),
    DeleteRange: unary(log, 'DeleteRange', async (m, call) => {
      const r = decode.decodeDeleteRange(m);
      authorize(ctx.auth, grpcAuthInfo(ctx, call), { kind: 'deleteRange', req: r });
      return encode.encodeDeleteRangeResponse(id, await kv.deleteRange(r));
    }),
    Txn: unary(log, 'Txn', async (m, call) => {
      const r = decode.decodeTxn(m);
      authorize(ctx.auth, grpcAuthInfo(ctx, call), { kind: 'txn', req: r });
      return encode.encodeTxnResponse(id, await kv.txn(r));
    }),
    Compact: unary(log, 'Compact', async (m, call) => {
      const c = decode.decodeCompaction(m);
      authorize(ctx.auth, grpcAuthInfo(ctx, call), { kind: 'admin' });
      const r = await kv.compact(c.revision, c.physical);
      return encode.encodeHeaderOnly(id, r.revision);
    }),
  };
}
