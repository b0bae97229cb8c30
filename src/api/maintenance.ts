/**
 * etcd's Maintenance calls that act on the member itself — Alarm, Defragment, Hash, HashKV, MoveLeader —
 * as both transports serve them (gRPC: grpc/maintenance-service.ts; JSON gateway:
 * routes/maintenance.ts). Access checks stay with each transport; this decides what the calls do.
 *
 * watchkv is a one-member cluster: MoveLeader to itself succeeds at once, as etcd's does (the
 * leader is already the transferee); any other id is not a member. Hashes and defragmentation
 * need the store's own records, so an upstream node (a mirror of an etcd cluster) refuses them
 * with UNIMPLEMENTED and a message that points at the etcd members.
 */
import { kvError } from '../errors.ts';
import type { AlarmMember, AlarmRequest, KV, KvHash } from '../mvcc/kv.ts';
import type { Identity } from './json.ts';

export interface Maintenance {
  /** Maintenance.Alarm (GET / ACTIVATE / DEACTIVATE); upstream, the etcd cluster's alarms. */
  alarm(req: AlarmRequest): Promise<AlarmMember[]>;
  /** Status's `errors`: each raised alarm as etcd prints it ("memberID:N alarm:NOSPACE "). */
  alarmErrors(): Promise<string[]>;
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
    alarm: (req) => kv.alarm(req),
    alarmErrors: async () => (await kv.alarm({ action: 'GET', memberId: 0n, alarm: 'NONE' })).map(alarmText),
    defragment: () => local(kv.defragment, 'defragment').call(kv),
    hash: () => local(kv.hashAll, 'hash').call(kv),
    hashKv: (revision) => local(kv.hashKv, 'hashkv').call(kv, revision),
    moveLeader: (targetId) => {
      if (targetId !== BigInt(identity.memberId)) throw kvError('ERR_BAD_LEADER_TRANSFEREE');
    },
  };
}

/** An alarm as Go prints an etcdserverpb.AlarmMember (fields at their default left out). */
function alarmText(a: AlarmMember): string {
  return `${a.memberId === 0n ? '' : `memberID:${a.memberId} `}${a.alarm === 'NONE' ? '' : `alarm:${a.alarm} `}`;
}
