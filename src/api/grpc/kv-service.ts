/** etcdserverpb.KV over the same store as the HTTP gateway: Range, Put, DeleteRange, Txn, Compact. */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../context.ts';
import * as decode from './decode.ts';
import * as encode from './encode-kv.ts';
import { unary, type GrpcLog } from './unary.ts';

/** Every KV response is encoded by hand (proto.ts gives these methods a pass-through serializer). */
export const KV_RAW_METHODS = ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact'] as const;

export function kvService(ctx: ApiContext, log: GrpcLog): UntypedServiceImplementation {
  const { kv, identity: id } = ctx;
  return {
    Range: unary(log, 'Range', async (m) => encode.encodeRangeResponse(id, await kv.range(decode.decodeRange(m)))),
    Put: unary(log, 'Put', async (m) => encode.encodePutResponse(id, await kv.put(decode.decodePut(m)))),
    DeleteRange: unary(log, 'DeleteRange', async (m) => encode.encodeDeleteRangeResponse(id, await kv.deleteRange(decode.decodeDeleteRange(m)))),
    Txn: unary(log, 'Txn', async (m) => encode.encodeTxnResponse(id, await kv.txn(decode.decodeTxn(m)))),
    Compact: unary(log, 'Compact', async (m) => {
      const c = decode.decodeCompaction(m);
      const r = await kv.compact(c.revision, c.physical);
      return encode.encodeHeaderOnly(id, r.revision);
    }),
  };
}
