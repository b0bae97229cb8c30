/**
 * etcdserverpb.Cluster: watchkv is one member with no raft peers. MemberList answers that member;
 * membership changes cannot apply to a server with no cluster and answer UNIMPLEMENTED.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../context.ts';
import { headerObject } from './header.ts';
import { unary, unimplemented, type GrpcLog } from './unary.ts';

/** etcd's default member name (--name), which watchkv, having no such flag, always reports. */
export const MEMBER_NAME = 'default';

/** Where clients reach this member: filled in by the server once it listens. */
export interface Advertised {
  clientUrls: string[];
}

export function clusterService(ctx: ApiContext, log: GrpcLog, advertised: Advertised): UntypedServiceImplementation {
  const { identity: id } = ctx;
  return {
    // etcd's cluster server fills the header without a revision (membership is not MVCC data).
    MemberList: unary(log, 'MemberList', () => ({
      header: headerObject(id, 0),
      members: [{ ID: id.memberId, name: MEMBER_NAME, peerURLs: [], clientURLs: advertised.clientUrls, isLearner: false }],
    })),
    MemberAdd: unimplemented('member add'),
    MemberRemove: unimplemented('member remove'),
    MemberUpdate: unimplemented('member update'),
    MemberPromote: unimplemented('member promote'),
  };
}
