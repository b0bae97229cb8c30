/**
 * The connection to the etcd cluster: one grpc-js client per member, over the same .proto files
 * the gRPC API serves (src/api/grpc/proto), messages as plain objects (snake_case, int64 as
 * decimal strings, bytes as Buffers, enums as names, defaults filled).
 *
 * One member is current. A call that fails because the member is gone (UNAVAILABLE, deadline)
 * moves to the next member and — when retrying cannot apply a write twice — tries again:
 *   - reads, watches and keep-alives are always retried (they change nothing);
 *   - writes only when the request never reached a member that could apply it (no connection,
 *     or etcd's "no leader", answered before proposing). Anything else is ambiguous and is
 *     reported to the client as ERR_UNAVAILABLE, as etcd's own clientv3 does.
 * Leader changes need nothing more: any member forwards writes to the leader, and a member that
 * is down fails fast and is rotated away from.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { DEFAULTS } from '../config.ts';
import { upstreamError } from './etcd-errors.ts';

// The .proto files only (no api code): the server's gRPC API and this client speak the same ones.
const PROTO_DIR = fileURLToPath(new URL('../api/grpc/proto/', import.meta.url));
/** proto-loader's generated clients and messages are untyped. */
type Any = any;
const pkg: Any = grpc.loadPackageDefinition(
  loadSync('rpc.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true }),
);

export type EtcdService = 'KV' | 'Watch' | 'Lease' | 'Maintenance';
/** A decoded etcd message. */
export type EtcdMsg = Any;

export interface EtcdClientOptions {
  requestTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
}

interface Member {
  url: string;
  services: Record<EtcdService, Any>;
}

/** Errors after which a write may be sent again: the first request surely applied nothing. */
const UNSENT = /ECONNREFUSED|No connection established|failed to connect|connection refused|etcdserver: no leader/i;

export class EtcdClient {
  private readonly members: Member[];
  private current = 0;
  private closed = false;
  private readonly options: EtcdClientOptions;

  constructor(endpoints: readonly string[], options: Partial<EtcdClientOptions> = {}) {
    if (endpoints.length === 0) throw new Error('EtcdClient: no endpoints');
    this.options = {
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.upstreamRequestTimeoutMs,
      retryMinMs: options.retryMinMs ?? DEFAULTS.upstreamRetryMinMs,
      retryMaxMs: options.retryMaxMs ?? DEFAULTS.upstreamRetryMaxMs,
    };
    this.members = endpoints.map((url) => {
      const target = url.replace(/^http:\/\//, '');
      const channel = new grpc.Channel(target, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': -1,
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1_000,
      });
      const make = (s: EtcdService): Any => new pkg.etcdserverpb[s](target, grpc.credentials.createInsecure(), { channelOverride: channel });
      return { url, services: { KV: make('KV'), Watch: make('Watch'), Lease: make('Lease'), Maintenance: make('Maintenance') } };
    });
  }

  /** The member calls go to now. */
  endpoint(): string {
    return this.members[this.current]!.url;
  }

  /** Moves away from member `failed` (if it is still the current one). */
  rotate(failed: number): void {
    if (this.current === failed) this.current = (failed + 1) % this.members.length;
  }

  /** Pause before attempt `n` (0-based) of a retried operation. */
  backoffMs(n: number): number {
    return Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** n);
  }

  /**
   * One unary call; `idempotent` calls are retried on every member failure, the others only
   * when the request surely did not apply (see the header). Errors come back as WatchKvErrors.
   */
  async call(service: EtcdService, method: string, request: object, idempotent: boolean): Promise<EtcdMsg> {
    const attempts = this.members.length * 2 + 1;
    let last: unknown;
    for (let i = 0; i < attempts && !this.closed; i++) {
      const at = this.current;
      try {
        return await this.once(at, service, method, request);
      } catch (err) {
        last = err;
        const e = err as { code?: number; details?: string };
        const memberFailed = e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED;
        if (!memberFailed) break;
        this.rotate(at);
        if (!idempotent && !UNSENT.test(e.details ?? '')) break;
        await sleep(this.backoffMs(i));
      }
    }
    throw upstreamError(last ?? new Error('etcd client closed'));
  }

  private once(at: number, service: EtcdService, method: string, request: object): Promise<EtcdMsg> {
    const client = this.members[at]!.services[service];
    const deadline = Date.now() + this.options.requestTimeoutMs;
    return new Promise((resolve, reject) => {
      client[method](request, { deadline }, (err: grpc.ServiceError | null, res: EtcdMsg) => (err ? reject(err) : resolve(res)));
    });
  }

  /**
   * A bidirectional stream (Watch.Watch, Lease.LeaseKeepAlive) on the current member; `member`
   * is its index, for rotate() when it fails. The caller reconnects.
   */
  stream(service: 'Watch' | 'Lease', method: string): { call: grpc.ClientDuplexStream<object, EtcdMsg>; member: number } {
    const member = this.current;
    // etcd's "require leader" (clientv3.WithRequireLeader, as its grpc-proxy does): a member cut
    // off from the quorum refuses the stream, and ends an open one after 3 election timeouts
    // without a leader, so the node moves to a member that is still part of the cluster instead
    // of watching a partitioned member's frozen history.
    const md = new grpc.Metadata();
    md.set('hasleader', 'true');
    return { call: this.members[member]!.services[service][method](md), member };
  }

  close(): void {
    this.closed = true;
    for (const m of this.members) for (const c of Object.values(m.services)) (c as grpc.Client).close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
