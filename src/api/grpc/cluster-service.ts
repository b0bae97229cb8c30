/**
 * etcdserverpb.Cluster: watchkv is one member with no raft peers. MemberList answers that member;
 * membership changes cannot apply to a server with no cluster and answer UNIMPLEMENTED.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../context.ts';
import { headerObject } from './header.ts';
import { unary, unimplemented, type GrpcLog } from './unary.ts';

/** The member's clientURLs are ctx.advertised's, as the JSON gateway's member list. */
export function clusterService(ctx: ApiContext, log: GrpcLog): UntypedServiceImplementation {
  const { identity: id } = ctx;
  return {
    // etcd's cluster server fills the header without a revision (membership is not MVCC data).
    MemberList: unary(log, 'MemberList', () => ({
      header: headerObject(id, 0),
      members: [{ ID: id.memberId, name: ctx.config.name, peerURLs: [], clientURLs: ctx.advertised.clientUrls, isLearner: false }],
    })),
    MemberAdd: unimplemented('member add'),
    MemberRemove: unimplemented('member remove'),
    MemberUpdate: unimplemented('member update'),
    MemberPromote: unimplemented('member promote'),
  };
}
