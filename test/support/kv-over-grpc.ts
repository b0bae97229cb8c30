/**
 * A KV (the calls of src/mvcc/kv.ts the contract suite uses) over etcd's gRPC KV service of a
 * running server (or etcd): grpc-js with src/api/grpc/proto through test/api/grpc/grpc-client.ts,
 * decoding sparse messages (fields at their default absent, as on the wire). Results come back in
 * the store's shapes and gRPC statuses as the store's typed errors (kv-wire.ts), so
 * test/contracts/kv-contract.ts asserts the same things of it as of the store.
 */
import { EtcdGrpc, type GrpcError } from '../api/grpc/grpc-client.ts';
import { bufferBytes, KvWire, WireKv, wireError, type KvMethod } from './kv-wire.ts';

export class GrpcKv extends WireKv {
  private readonly client: EtcdGrpc;

  /** `url`: http://host:port of a gRPC endpoint. */
  constructor(url: string) {
    super(new KvWire(bufferBytes));
    this.client = new EtcdGrpc(url, {}, true);
  }

  protected async call(method: KvMethod, req: object): Promise<any> {
    try {
      return await this.client.call('KV', method, req);
    } catch (err) {
      const e = err as GrpcError;
      throw typeof e.code === 'number' ? wireError(e.code, e.details) : err;
    }
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
