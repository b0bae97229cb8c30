/**
 * The KV contract (test/contracts/kv-contract.ts) through a real server's etcd gRPC KV service,
 * via the GrpcKv adapter (grpc-js, sparse messages): request decoding, response encoding
 * (including the direct paths of fast-unary.ts) and gRPC statuses must keep every answer and
 * error of the store. A fresh in-memory server per test, so revisions start at 1.
 */
import { kvContract } from '../../contracts/kv-contract.ts';
import { GrpcKv } from '../../support/kv-over-grpc.ts';
import { startTestServer } from '../../support/test-server.ts';

kvContract(
  'gRPC',
  async () => {
    const server = await startTestServer({}, { memory: true });
    const kv = new GrpcKv(server.url);
    return {
      kv,
      startRevision: 1,
      cleanup: async () => {
        await kv.close();
        await server.stop();
      },
    };
  },
  { commits: false },
);
