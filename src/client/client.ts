/**
 * WatchKvClient: one object for the KV, lease, maintenance and watch APIs of a watchkv server
 * (or any etcd v3.4+ JSON gateway for the unary calls). Uses only the global `fetch` and a
 * WebSocket constructor (the global one in browsers; the Node entry passes `ws`).
 *
 *   const client = new WatchKvClient({ endpoints: ['http://127.0.0.1:2379'] });
 *   await client.put('/app/a', '1');
 *   for await (const ev of client.watch('/app/', { prefix: true })) console.log(ev.type, ev.kv.key);
 */
import type { BackoffOptions } from './backoff.ts';
import { toBytes, type BytesLike } from './bytes.ts';
import { ClosedError } from './errors.ts';
import { Credentials, type AuthOptions } from './credentials.ts';
import { HttpTransport } from './http-transport.ts';
import { Informer, type InformerOptions } from './informer.ts';
import { KvApi, type DeleteResult, type PutResult, type RangeResult } from './kv.ts';
import { keyRange, type DeleteOptions, type PutOptions, type RangeOptions } from './kv-request.ts';
import { LeaseApi } from './lease.ts';
import { AuthApi } from './auth.ts';
import { TxnBuilder } from './txn.ts';
import { decodeHeader, type KeyValue, type RawHeader, type ResponseHeader } from './types.ts';
import { Watch, type WatchOptions } from './watch.ts';
import { WatchConnection } from './watch-connection.ts';
import { globalWebSocket, type WebSocketConstructor } from './websocket.ts';

export interface ClientOptions {
  /** Server URLs, e.g. ['http://127.0.0.1:2379']; tried in order when one is unreachable. */
  endpoints: string[];
  /** ms: one unary request's limit (default 30,000). */
  requestTimeoutMs?: number;
  /** Reconnect backoff of the watch socket (default 100 ms doubling to 10 s, with jitter). */
  backoff?: BackoffOptions;
  /** ms: see WatchConnectionOptions.heartbeatMs (default 30,000; 0 = off). */
  heartbeatMs?: number;
  /** The WebSocket class; defaults to the global one. */
  WebSocket?: WebSocketConstructor;
  /** The fetch function; defaults to the global one. */
  fetch?: typeof fetch;
  /**
   * For a server with auth on: sign in as this user when first needed, and again whenever the
   * server says the token went stale (expired, forgotten by a restart, or older than a user or
   * role change), as etcd's own clients do.
   */
  auth?: AuthOptions;
  /** Or a token got elsewhere (it cannot be renewed). */
  token?: string;
}

export interface StatusResult {
  header: ResponseHeader;
  version: string;
  dbSize: number;
  leader: string;
  raftIndex: number;
  raftTerm: number;
  /** Raised alarms as etcd prints them ("memberID:N alarm:NOSPACE "); empty when none. */
  errors: string[];
}

/** A raised alarm (see the server README's "Space quota and alarms"). */
export interface Alarm {
  /** The member that raised it: a uint64 as a decimal string ('0' when none was named). */
  memberId: string;
  alarm: 'NONE' | 'NOSPACE' | 'CORRUPT';
}

/** A cluster member, as member list reports it (watchkv: itself, with no peer URLs). */
export interface Member {
  /** A uint64 as a decimal string. */
  id: string;
  name: string;
  peerUrls: string[];
  /** Where clients reach it (the server's --advertise-client-urls). */
  clientUrls: string[];
  isLearner: boolean;
}

interface RawAlarms {
  alarms?: Array<{ memberID?: string; alarm?: Alarm['alarm'] }>;
}
const alarmsOf = (r: RawAlarms): Alarm[] => (r.alarms ?? []).map((a) => ({ memberId: a.memberID ?? '0', alarm: a.alarm ?? 'NONE' }));

export class WatchKvClient {
  readonly kv: KvApi;
  readonly lease: LeaseApi;
  /** Users, roles, permissions, auth enable/disable (etcdctl's user/role/auth commands). */
  readonly auth: AuthApi;
  private readonly http: HttpTransport;
  private connection: WatchConnection | undefined;
  private closed = false;

  constructor(private readonly options: ClientOptions) {
    if (options.auth && options.token !== undefined) throw new TypeError('give auth or token, not both');
    const auth = options.auth;
    const signIn = auth && (() => this.authenticate(auth.username, auth.password));
    this.http = new HttpTransport({ ...options, credentials: new Credentials(signIn, options.token) });
    this.kv = new KvApi(this.http);
    this.lease = new LeaseApi(this.http);
    this.auth = new AuthApi(this.http);
  }

  get endpoints(): string[] {
    return this.http.endpoints;
  }

  // ---- KV shortcuts ----
  get(key: BytesLike, o?: { revision?: number }): Promise<KeyValue | undefined> {
    return this.kv.get(key, o);
  }
  range(key: BytesLike, o?: RangeOptions): Promise<RangeResult> {
    return this.kv.range(key, o);
  }
  put(key: BytesLike, value: BytesLike, o?: PutOptions): Promise<PutResult> {
    return this.kv.put(key, value, o);
  }
  delete(key: BytesLike, o?: DeleteOptions): Promise<DeleteResult> {
    return this.kv.delete(key, o);
  }
  compact(revision: number, o?: { physical?: boolean }): Promise<{ revision: number }> {
    return this.kv.compact(revision, o);
  }
  txn(): TxnBuilder {
    return new TxnBuilder(this.http);
  }

  /** Signs in (POST /v3/auth/authenticate) and returns the token; `auth` does this by itself. */
  async authenticate(username: string, password: string): Promise<string> {
    const text = await this.http.postText('/v3/auth/authenticate', JSON.stringify({ name: username, password }), { anonymous: true });
    return (JSON.parse(text) as { token: string }).token;
  }

  async status(): Promise<StatusResult> {
    const r = await this.http.post<{ header?: RawHeader; version?: string; dbSize?: string; leader?: string; raftIndex?: string; raftTerm?: string; errors?: string[] }>(
      '/v3/maintenance/status',
      {},
    );
    return {
      header: decodeHeader(r.header),
      version: r.version ?? '',
      dbSize: Number(r.dbSize ?? 0),
      leader: r.leader ?? '0',
      raftIndex: Number(r.raftIndex ?? 0),
      raftTerm: Number(r.raftTerm ?? 0),
      errors: r.errors ?? [],
    };
  }

  /** The cluster's members (etcd's MemberList). */
  async members(): Promise<Member[]> {
    const r = await this.http.post<{ members?: Array<{ ID?: string; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean }> }>(
      '/v3/cluster/member/list',
      {},
    );
    return (r.members ?? []).map((m) => ({ id: m.ID ?? '0', name: m.name ?? '', peerUrls: m.peerURLs ?? [], clientUrls: m.clientURLs ?? [], isLearner: m.isLearner === true }));
  }

  /** The raised alarms (a full store raises NOSPACE; writes that add data then fail until disarmed). */
  async alarms(): Promise<Alarm[]> {
    return alarmsOf(await this.http.post<RawAlarms>('/v3/maintenance/alarm', { action: 'GET' }));
  }

  /** Disarms `alarm` (by default every raised one, as `etcdctl alarm disarm`); returns what was disarmed. */
  async disarmAlarms(alarm?: Alarm): Promise<Alarm[]> {
    const out: Alarm[] = [];
    for (const a of alarm ? [alarm] : await this.alarms()) {
      out.push(...alarmsOf(await this.http.post<RawAlarms>('/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: a.memberId, alarm: a.alarm })));
    }
    return out;
  }

  /**
   * Watches a key (or a prefix / range). The watch shares the client's one WebSocket and
   * survives reconnects; iterate it, or listen with `on('events', …)`. close() ends it.
   */
  watch(key: BytesLike, o: WatchOptions = {}): Watch {
    const request: Record<string, unknown> = keyRange(toBytes(key), o);
    if (o.prevKv) request.prev_kv = true;
    if (o.progressNotify !== false) request.progress_notify = true;
    if (o.filters?.length) request.filters = o.filters.map((f) => (f === 'noput' ? 'NOPUT' : 'NODELETE'));
    const w = new Watch(this.watchConnection(), request, o.startRevision);
    this.watchConnection().add(w);
    return w;
  }

  /** A local cache of a prefix kept equal to the server (see Informer). Call start() or synced(). */
  informer(prefix: BytesLike, o: InformerOptions = {}): Informer {
    if (this.closed) throw new ClosedError('client closed');
    return new Informer(this, prefix, o);
  }

  /** The shared watch socket (created on first use). */
  watchConnection(): WatchConnection {
    if (this.closed) throw new ClosedError('client closed');
    if (!this.connection) {
      const WS = this.options.WebSocket ?? globalWebSocket();
      if (!WS) throw new TypeError('no WebSocket: pass options.WebSocket (in Node 20, import the client from "watchkv/client", which supplies one)');
      this.connection = new WatchConnection({
        endpoints: () => this.http.endpoints,
        WebSocket: WS,
        backoff: this.options.backoff,
        heartbeatMs: this.options.heartbeatMs,
        credentials: this.http.credentials,
      });
    }
    return this.connection;
  }

  /**
   * The token this client sends now (signing in first when `auth` was given and no token is
   * held); undefined without auth. For requests made outside the SDK, e.g. a snapshot download
   * streamed with your own HTTP client.
   */
  authToken(): Promise<string | undefined> {
    return this.http.credentials.token();
  }

  /** Closes every watch and the socket. Leases handles must be closed by their owners. */
  close(): void {
    this.closed = true;
    this.connection?.close();
  }
}
