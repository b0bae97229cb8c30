/**
 * etcd's alarms for the local store: the list of raised alarms, what each one refuses, and its
 * record in the backend (so a restart keeps them, as etcd keeps its alarm bucket).
 *
 * Semantics follow etcd 3.4 (server/etcdserver/api/v3alarm and the capped / corrupt appliers):
 *   - an alarm is (member id, type); raising one that is up answers it again; disarming one that
 *     is not up answers nothing; GET of NONE lists every type;
 *   - NOSPACE refuses what adds data: puts, txns with a put in either branch (their cost is not
 *     zero, see space-quota.ts), lease grants; reads, deletes, compaction and revokes go on, so
 *     an operator can make room, defragment and disarm;
 *   - CORRUPT refuses every write (puts, deletes, txns other than read-only ones, compaction,
 *     lease grants and revokes); reads go on.
 * Auth changes are not capped by either, as in etcd.
 *
 * Invariant: `list` is the persisted list in memory, in the order the alarms were raised; it
 * changes only after the record reaching the disk was acknowledged (the caller's write path).
 */
import type { BatchOp } from '../backend/backend.ts';
import { kvError } from '../errors.ts';
import type { AlarmMember, AlarmType } from './kv.ts';
import { metaKey } from './kv-codec.ts';

export const META_ALARMS = metaKey('alarms');

/** What a write needs to be let through by the raised alarms. */
export type WriteKind = 'put' | 'delete' | 'txn-readonly' | 'txn-delete' | 'txn-put' | 'compact' | 'lease-grant' | 'lease-revoke';

export class AlarmStore {
  private list: AlarmMember[] = [];

  /** The alarms read back from the record (an absent record = none). */
  load(record: Buffer | undefined): void {
    if (record === undefined) return;
    const parsed = JSON.parse(record.toString('utf8')) as Array<{ member: string; alarm: AlarmType }>;
    this.list = parsed.map((a) => ({ memberId: BigInt(a.member), alarm: a.alarm }));
  }

  get(type: AlarmType): AlarmMember[] {
    return this.list.filter((a) => type === 'NONE' || a.alarm === type).map((a) => ({ ...a }));
  }

  has(type: AlarmType): boolean {
    return this.list.some((a) => a.alarm === type);
  }

  /** Throws what etcd answers when a raised alarm refuses this kind of write. */
  check(kind: WriteKind): void {
    if (this.list.length === 0) return;
    if (kind !== 'txn-readonly' && this.has('CORRUPT')) throw kvError('ERR_CORRUPT_ALARM');
    if ((kind === 'put' || kind === 'txn-put' || kind === 'lease-grant') && this.has('NOSPACE')) throw kvError('ERR_NO_SPACE');
  }

  /**
   * The change an ACTIVATE or DEACTIVATE makes: the alarm it answers, the record to write with
   * it (none when nothing changes), and `apply` to run once that record is durable.
   */
  change(action: 'ACTIVATE' | 'DEACTIVATE', memberId: bigint, alarm: AlarmType): { answer: AlarmMember[]; ops: BatchOp[]; apply(): void } {
    const at = this.list.findIndex((a) => a.memberId === memberId && a.alarm === alarm);
    const unchanged = { ops: [], apply: () => undefined };
    if (action === 'ACTIVATE') {
      const raised = { memberId, alarm };
      if (at >= 0) return { answer: [raised], ...unchanged };
      const next = [...this.list, raised];
      return { answer: [raised], ops: [this.record(next)], apply: () => (this.list = next) };
    }
    if (at < 0) return { answer: [], ...unchanged };
    const next = this.list.filter((_, i) => i !== at);
    return { answer: [{ memberId, alarm }], ops: [this.record(next)], apply: () => (this.list = next) };
  }

  private record(list: readonly AlarmMember[]): BatchOp {
    if (list.length === 0) return { type: 'del', key: META_ALARMS };
    const value = JSON.stringify(list.map((a) => ({ member: a.memberId.toString(), alarm: a.alarm })));
    return { type: 'put', key: META_ALARMS, value: Buffer.from(value, 'utf8') };
  }
}
