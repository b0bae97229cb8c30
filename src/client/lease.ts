/**
 * Leases: grant (optionally kept alive by the client), revoke, time-to-live, list.
 *
 * Keep-alive renews over POST /v3/lease/keepalive with one request per body: the server answers
 * it and ends the response, so each renewal is a plain fetch (works the same in browsers, needs
 * no socket state, and survives server restarts and endpoint changes for free). A lease kept
 * alive renews every TTL/3; a failed renewal is retried with backoff until the lease's deadline;
 * an answer with TTL 0 means the lease is gone (expired or revoked): the handle emits `lost`.
 */
import { Backoff } from './backoff.ts';
import { Emitter } from './emitter.ts';
import { errorFromServer, NotFoundError, type WatchKvClientError } from './errors.ts';
import type { HttpTransport } from './http-transport.ts';
import { base64ToUtf8 } from './bytes.ts';
import { decodeHeader, type RawHeader, type ResponseHeader } from './types.ts';

export type LeaseId = string;

export interface LeaseTimeToLive {
  id: LeaseId;
  /** Seconds left; -1 when the lease does not exist. */
  ttl: number;
  grantedTtl: number;
  keys: string[];
}

export interface LeaseEvents {
  /** A renewal succeeded: the TTL the server granted. */
  keepalive: number;
  /** The lease is gone (expired or revoked elsewhere): no more renewals. */
  lost: WatchKvClientError;
  /** A renewal failed for a transient reason (it will be retried). */
  error: WatchKvClientError;
}

export class LeaseApi {
  constructor(private readonly http: HttpTransport) {}

  /** Grants a lease of `ttlSeconds` (the server picks the ID unless `id` is given). */
  async grant(ttlSeconds: number, o: { id?: LeaseId | number | bigint } = {}): Promise<{ id: LeaseId; ttl: number; header: ResponseHeader }> {
    const r = await this.http.post<{ header?: RawHeader; ID?: string; TTL?: string }>('/v3/lease/grant', { TTL: String(ttlSeconds), ID: String(o.id ?? 0) });
    return { id: r.ID ?? '0', ttl: Number(r.TTL ?? 0), header: decodeHeader(r.header) };
  }

  /** Grants a lease and keeps it alive until `close()` or `revoke()` on the handle. */
  async grantWithKeepAlive(ttlSeconds: number, o: { id?: LeaseId | number | bigint } = {}): Promise<Lease> {
    const g = await this.grant(ttlSeconds, o);
    return new Lease(this, g.id, g.ttl);
  }

  /** Revokes a lease: every key attached to it is deleted (one revision). */
  async revoke(id: LeaseId | number | bigint): Promise<{ revision: number }> {
    const r = await this.http.post<{ header?: RawHeader }>('/v3/lease/revoke', { ID: String(id) });
    return { revision: decodeHeader(r.header).revision };
  }

  async timeToLive(id: LeaseId | number | bigint, o: { keys?: boolean } = {}): Promise<LeaseTimeToLive> {
    const r = await this.http.post<{ ID?: string; TTL?: string; grantedTTL?: string; keys?: string[] }>('/v3/lease/timetolive', { ID: String(id), keys: o.keys === true });
    return { id: r.ID ?? String(id), ttl: Number(r.TTL ?? 0), grantedTtl: Number(r.grantedTTL ?? 0), keys: (r.keys ?? []).map(base64ToUtf8) };
  }

  async leases(): Promise<LeaseId[]> {
    const r = await this.http.post<{ leases?: Array<{ ID?: string }> }>('/v3/lease/leases', {});
    return (r.leases ?? []).map((l) => l.ID ?? '0');
  }

  /** One renewal: the TTL granted; throws NotFoundError when the lease is gone. */
  async keepAliveOnce(id: LeaseId | number | bigint): Promise<number> {
    const text = await this.http.postText('/v3/lease/keepalive', JSON.stringify({ ID: String(id) }));
    const line = text.split('\n').find((l) => l.trim() !== '');
    if (!line) throw errorFromServer(14, 'keep-alive stream ended without an answer', 200);
    const o = JSON.parse(line) as { result?: { TTL?: string }; error?: { grpc_code?: number; http_code?: number; message?: string } };
    if (o.error) throw errorFromServer(o.error.grpc_code ?? 0, o.error.message ?? 'keep-alive failed', o.error.http_code ?? 0);
    const ttl = Number(o.result?.TTL ?? 0);
    if (ttl <= 0) throw new NotFoundError('etcdserver: requested lease not found', 5, 200);
    return ttl;
  }
}

/** A lease this client keeps alive. */
export class Lease extends Emitter<LeaseEvents> {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly backoff = new Backoff({ initialMs: 200, maxMs: 2_000 });
  /** ms since epoch past which the server has certainly let the lease expire. */
  private deadline: number;

  constructor(
    private readonly api: LeaseApi,
    readonly id: LeaseId,
    /** The TTL granted, in seconds. */
    public ttl: number,
  ) {
    super();
    this.deadline = Date.now() + ttl * 1000;
    this.schedule(this.renewEveryMs());
  }

  private renewEveryMs(): number {
    return Math.max(100, (this.ttl * 1000) / 3);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.renew(), ms);
    // In Node, a pending renewal alone does not keep the process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async renew(): Promise<void> {
    if (this.closed) return;
    try {
      const ttl = await this.api.keepAliveOnce(this.id);
      if (this.closed) return;
      this.ttl = ttl;
      this.deadline = Date.now() + ttl * 1000;
      this.backoff.reset();
      this.emit('keepalive', ttl);
      this.schedule(this.renewEveryMs());
    } catch (err) {
      if (this.closed) return;
      const e = err as WatchKvClientError;
      if (e instanceof NotFoundError || Date.now() > this.deadline) {
        this.closed = true;
        this.emit('lost', e);
        return;
      }
      this.emit('error', e);
      this.schedule(this.backoff.next());
    }
  }

  /** Stops renewing (the lease then expires after its TTL). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Stops renewing and revokes the lease now. */
  async revoke(): Promise<void> {
    this.close();
    await this.api.revoke(this.id);
  }
}
