/**
 * etcd's Maintenance calls that act on the member itself — Defragment, Hash, HashKV, MoveLeader —
 * as both transports serve them (gRPC: grpc/maintenance-service.ts; JSON gateway:
 * routes/maintenance.ts). Access checks stay with each transport; this decides what the calls do.
 *
 * watchkv is a one-member cluster: MoveLeader to itself succeeds at once, as etcd's does (the
 * leader is already the transferee); any other id is not a member. Hashes and defragmentation
 * need the store's own records, so an upstream node (a mirror of an etcd cluster) refuses them
 * with UNIMPLEMENTED and a message that points at the etcd members.
 */
import { kvError } from '../errors.ts';
import type { KV, KvHash } from '../mvcc/kv.ts';
import type { Identity } from './json.ts';

export interface Maintenance {
  defragment(): Promise<void>;
  hash(): Promise<number>;
  hashKv(revision: number): Promise<KvHash>;
  moveLeader(targetId: bigint): void;
}

export function maintenance(kv: KV, identity: Identity): Maintenance {
  const local = <T>(method: T | undefined, what: string): T => {
    if (method === undefined) throw kvError('ERR_NOT_SUPPORTED', `watchkv: ${what} is not served in upstream mode; ask the etcd members`);
    return method;
  };
  return {
    defragment: () => local(kv.defragment, 'defragment').call(kv),
    hash: () => local(kv.hashAll, 'hash').call(kv),
    hashKv: (revision) => local(kv.hashKv, 'hashkv').call(kv, revision),
    moveLeader: (targetId) => {
      if (targetId !== BigInt(identity.memberId)) throw kvError('ERR_BAD_LEADER_TRANSFEREE');
    },
  };
}
