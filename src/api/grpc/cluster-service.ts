/**
 * etcdserverpb.Cluster: watchkv is one member with no raft peers. MemberList answers that member;
 * membership changes are answered as membership.ts decides (etcd's errors where etcd has them).
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../context.ts';
import { headerObject } from './header.ts';
import { unary, type GrpcLog } from './unary.ts';
import { int64 } from './decode.ts';
import { membership } from '../membership.ts';

/** The member's clientURLs are ctx.advertised's, as the JSON gateway's member list. */
export function clusterService(ctx: ApiContext, log: GrpcLog): UntypedServiceImplementation {
  const { identity: id } = ctx;
  const m = membership(id);
  return {
    // etcd's cluster server fills the header without a revision (membership is not MVCC data).
    MemberList: unary(log, 'MemberList', () => ({
      header: headerObject(id, 0),
      members: [{ ID: id.memberId, name: ctx.config.name, peerURLs: [], clientURLs: ctx.advertised.clientUrls, isLearner: false }],
    })),
    MemberAdd: unary(log, 'MemberAdd', () => m.add()),
    MemberRemove: unary(log, 'MemberRemove', (req) => m.remove(int64(req.ID))),
    MemberUpdate: unary(log, 'MemberUpdate', (req) => m.update(int64(req.ID))),
    MemberPromote: unary(log, 'MemberPromote', (req) => m.promote(int64(req.ID))),
  };
}
