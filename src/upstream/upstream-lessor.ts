/**
 * Leases in upstream mode live in etcd: every call is forwarded. Keep-alives share one
 * LeaseKeepAlive stream to the current member (etcd answers each request in order with the
 * lease's id); a failed stream fails its waiting renewals with ERR_UNAVAILABLE (the client
 * renews again, as etcd clients do) and the next renewal opens a new one on the next member.
 */
import { kvError } from '../errors.ts';
import type { LeaseGrant, LeaseTimeToLive, Lessor } from '../lease/lease-api.ts';
import type { EtcdClient, EtcdMsg } from './etcd-client.ts';
import { upstreamError } from './etcd-errors.ts';
import { headerRevision } from './etcd-codec.ts';

interface KeepAlive {
  write(id: bigint): void;
  /** Renewals waiting for an answer, by lease id, in the order asked. */
  waiting: Map<string, Array<{ resolve: (ttl: number) => void; reject: (err: unknown) => void }>>;
  dead: boolean;
  cancel(): void;
}

export class UpstreamLessor implements Lessor {
  private keepAlive: KeepAlive | undefined;

  constructor(private readonly client: EtcdClient) {}

  async grant(id: bigint, ttlSeconds: number): Promise<LeaseGrant> {
    const r = await this.client.call('Lease', 'LeaseGrant', { ID: String(id), TTL: String(ttlSeconds) }, false);
    if (r.error) throw kvError('ERR_INVALID_ARGUMENT', r.error);
    return { id: BigInt(r.ID), ttlSeconds: Number(r.TTL), revision: headerRevision(r) };
  }

  async revoke(id: bigint): Promise<{ revision: number }> {
    return { revision: headerRevision(await this.client.call('Lease', 'LeaseRevoke', { ID: String(id) }, false)) };
  }

  renew(id: bigint): Promise<number> {
    const ka = this.stream();
    return new Promise((resolve, reject) => {
      const key = String(id);
      let list = ka.waiting.get(key);
      if (!list) ka.waiting.set(key, (list = []));
      list.push({ resolve, reject });
      ka.write(id);
    });
  }

  async timeToLive(id: bigint, withKeys: boolean): Promise<LeaseTimeToLive> {
    const r = await this.client.call('Lease', 'LeaseTimeToLive', { ID: String(id), keys: withKeys }, true);
    return { id: BigInt(r.ID), ttlSeconds: Number(r.TTL), grantedTtlSeconds: Number(r.grantedTTL), keys: r.keys ?? [] };
  }

  async leases(): Promise<bigint[]> {
    const r = await this.client.call('Lease', 'LeaseLeases', {}, true);
    return (r.leases ?? []).map((l: EtcdMsg) => BigInt(l.ID));
  }

  /** Not tracked in upstream mode (the key's lease is in its KeyValue). */
  leaseOfKey(): bigint {
    return 0n;
  }

  async close(): Promise<void> {
    this.keepAlive?.cancel();
  }

  private stream(): KeepAlive {
    if (this.keepAlive && !this.keepAlive.dead) return this.keepAlive;
    const { call, member } = this.client.stream('Lease', 'LeaseKeepAlive');
    const ka: KeepAlive = {
      waiting: new Map(),
      dead: false,
      write: (id) => call.write({ ID: String(id) }),
      cancel: () => {
        ka.dead = true;
        call.cancel();
      },
    };
    const fail = (err: unknown): void => {
      if (!ka.dead) this.client.rotate(member);
      ka.dead = true;
      const e = upstreamError(err);
      for (const list of ka.waiting.values()) for (const w of list) w.reject(e);
      ka.waiting.clear();
    };
    call.on('data', (m: EtcdMsg) => {
      const key = String(m.ID);
      const list = ka.waiting.get(key);
      const w = list?.shift();
      if (list && list.length === 0) ka.waiting.delete(key);
      w?.resolve(Number(m.TTL));
    });
    call.on('error', fail);
    call.on('end', () => fail(kvError('ERR_UNAVAILABLE', 'upstream etcd: keep-alive stream ended')));
    this.keepAlive = ka;
    return ka;
  }
}
