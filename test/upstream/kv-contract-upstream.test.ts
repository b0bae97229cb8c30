/**
 * The KV contract (test/contracts/kv-contract.ts) against a real etcd (3.4, one member, fresh per
 * test so revisions start at 1): the strongest check that the contract is etcd's behaviour.
 * Three implementations: UpstreamKv, the KV of upstream mode (its mirror, follower and error
 * mapping, with its commit listener fed by etcd's watch), and, as the reference, etcd itself
 * through the same gRPC and JSON-gateway adapters the watchkv server is checked with.
 */
import { startEtcd } from '../../scripts/etcd-server.ts';
import { openUpstreamNode } from '../../src/upstream/upstream-node.ts';
import { kvContract } from '../contracts/kv-contract.ts';
import { GrpcKv } from '../support/kv-over-grpc.ts';
import { HttpKv } from '../support/kv-over-http.ts';

/** A one-member etcd elects itself in ~0.1 s with short raft timers, instead of ~0.6 s. */
const fresh = () => startEtcd({ extraArgs: ['--heartbeat-interval', '10', '--election-timeout', '50'] });

kvContract(
  'UpstreamKv over etcd',
  async () => {
    const etcd = await fresh();
    const node = await openUpstreamNode({ endpoints: [etcd.url] });
    return {
      kv: node.kv,
      startRevision: 1,
      cleanup: async () => {
        await node.close();
        await etcd.stop();
      },
    };
  },
  // The mirror also tells its listeners of revisions etcd reports without events (progress).
  { commits: true, emptyCommits: true },
);

kvContract(
  'etcd over gRPC',
  async () => {
    const etcd = await fresh();
    const kv = new GrpcKv(etcd.url);
    return {
      kv,
      startRevision: 1,
      cleanup: async () => {
        await kv.close();
        await etcd.stop();
      },
    };
  },
  { commits: false },
);

kvContract(
  'etcd JSON gateway',
  async () => {
    const etcd = await fresh();
    return { kv: new HttpKv(etcd.url), startRevision: 1, cleanup: () => etcd.stop() };
  },
  { commits: false },
);
