/**
 * etcdserverpb.Cluster: watchkv is one member with no raft peers. MemberList answers that member;
 * membership changes are answered as membership.ts decides (etcd's errors where etcd has them).
 * As etcd 3.4: MemberList looks at no credential; a change needs root while auth is on, checked
 * before anything else (etcd's checkMembershipOperationPermission), as the gateway's routes are.
 */
import type { ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { authorize } from '../../auth/auth-check.ts';
import { grpcAuthInfo } from './grpc-auth.ts';
import type { ApiContext } from '../context.ts';
import { headerObject } from './header.ts';
import { unary, type GrpcLog } from './unary.ts';
import { int64, type Msg } from './decode.ts';
import { membership } from '../membership.ts';

/** The member's clientURLs are ctx.advertised's, as the JSON gateway's member list. */
export function clusterService(ctx: ApiContext, log: GrpcLog): UntypedServiceImplementation {
  const { identity: id } = ctx;
  const m = membership(id);
  /** A membership change: root first (even before the request is looked at), then `run`. */
  const change = <R>(method: string, run: (req: Msg) => R): ReturnType<typeof unary> =>
    unary(log, method, (req, call: ServerUnaryCall<Msg, R>) => {
      authorize(ctx.auth, grpcAuthInfo(ctx, call), { kind: 'admin' });
      return run(req);
    });
  return {
    // etcd's cluster server fills the header without a revision (membership is not MVCC data).
    MemberList: unary(log, 'MemberList', () => ({
      header: headerObject(id, 0),
      members: [{ ID: id.memberId, name: ctx.config.name, peerURLs: [], clientURLs: ctx.advertised.clientUrls, isLearner: false }],
    })),
    MemberAdd: change('MemberAdd', () => m.add()),
    MemberRemove: change('MemberRemove', (req) => m.remove(int64(req.ID))),
    MemberUpdate: change('MemberUpdate', (req) => m.update(int64(req.ID))),
    MemberPromote: change('MemberPromote', (req) => m.promote(int64(req.ID))),
  };
}
