/**
 * A KV (the calls of src/mvcc/kv.ts the contract suite uses) over etcd's gRPC KV service of a
 * running server (or etcd): grpc-js with src/api/grpc/proto through test/api/grpc/grpc-client.ts,
 * decoding sparse messages (fields at their default absent, as on the wire). Results come back in
 * the store's shapes and gRPC statuses as the store's typed errors (kv-wire.ts), so
 * test/contracts/kv-contract.ts asserts the same things of it as of the store.
 */
import type { CompactResult, DeleteRangeRequest, DeleteRangeResult, KV, PutRequest, PutResult, RangeRequest, RangeResult, TxnRequest, TxnResult } from '../../src/mvcc/kv.ts';
import { EtcdGrpc, type GrpcError } from '../api/grpc/grpc-client.ts';
import { bufferBytes, KvWire, wireError } from './kv-wire.ts';

export class GrpcKv implements Pick<KV, 'range' | 'put' | 'deleteRange' | 'txn' | 'compact' | 'close'> {
  private readonly wire = new KvWire(bufferBytes);
  private readonly client: EtcdGrpc;

  /** `url`: http://host:port of a gRPC endpoint. */
  constructor(url: string) {
    this.client = new EtcdGrpc(url, {}, true);
  }

  private async call(method: string, req: object): Promise<any> {
    try {
      return await this.client.call('KV', method, req);
    } catch (err) {
      const e = err as GrpcError;
      throw typeof e.code === 'number' ? wireError(e.code, e.details) : err;
    }
  }

  async range(req: RangeRequest): Promise<RangeResult> {
    return this.wire.rangeResult(await this.call('Range', this.wire.range(req)));
  }

  async put(req: PutRequest): Promise<PutResult> {
    return this.wire.putResult(await this.call('Put', this.wire.put(req)));
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResult> {
    return this.wire.deleteResult(await this.call('DeleteRange', this.wire.deleteRange(req)));
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    return this.wire.txnResult(await this.call('Txn', this.wire.txn(req)));
  }

  async compact(revision: number, physical?: boolean): Promise<CompactResult> {
    const res = await this.call('Compact', { revision: String(revision), physical: physical === true });
    return { revision: Number(res.header?.revision ?? 0) };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
