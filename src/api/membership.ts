/**
 * etcd's membership changes — Cluster.MemberAdd, MemberRemove, MemberUpdate, MemberPromote — as
 * both transports answer them (gRPC: grpc/cluster-service.ts; JSON gateway: routes/cluster.ts).
 *
 * watchkv is one member with no raft peers, so its membership cannot change. What etcd 3.4 says
 * for an id that is not a member (NotFound `etcdserver: member not found`) and for promoting a
 * voting member (FailedPrecondition `etcdserver: can only promote a learner member`) holds here
 * exactly, so clients' error handling works. Adding a member, or removing or updating this one,
 * would need a cluster: those answer UNIMPLEMENTED with a message saying why (etcd would add an
 * unstarted member and lose quorum until it starts).
 */
import { kvError } from '../errors.ts';
import type { Identity } from './json.ts';

export interface Membership {
  add(): never;
  remove(id: bigint): never;
  update(id: bigint): never;
  promote(id: bigint): never;
}

export function membership(identity: Identity): Membership {
  const self = BigInt(identity.memberId);
  const single = (what: string): never => {
    throw kvError('ERR_NOT_SUPPORTED', `watchkv: member ${what} is not supported: watchkv is a single member with no raft peers`);
  };
  const known = (id: bigint): void => {
    if (id !== self) throw kvError('ERR_MEMBER_NOT_FOUND');
  };
  return {
    add: () => single('add'),
    remove: (id) => {
      known(id);
      return single('remove');
    },
    update: (id) => {
      known(id);
      return single('update');
    },
    promote: (id) => {
      known(id);
      throw kvError('ERR_MEMBER_NOT_LEARNER');
    },
  };
}
