/**
 * A lean etcd gRPC client for tests (the same for etcd and watchkv): grpc-js + proto-loader over
 * src/api/grpc/proto, messages as plain objects (int64 as strings, bytes as Buffers, enums as
 * names, defaults filled). Unary calls return promises; errors carry grpc-js's `code`/`details`.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const PROTO_DIR = fileURLToPath(new URL('../../../src/api/grpc/proto/', import.meta.url));
const load = (defaults: boolean): any =>
  grpc.loadPackageDefinition(loadSync('rpc.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, bytes: Buffer, defaults, oneofs: true }));
const pkgs = { withDefaults: load(true), sparse: load(false) };

export type Service = 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance' | 'Auth';

export interface GrpcError extends Error {
  code: number;
  details: string;
}

export class EtcdGrpc {
  private readonly clients = new Map<Service, any>();
  private readonly channel: grpc.Channel;

  /**
   * `url`: http://host:port. `sparse`: decode without filling defaults (fields at their default
   * are absent, as in the JSON gateway's answers).
   */
  constructor(url: string, options: grpc.ChannelOptions = {}, sparse = false) {
    const pkg = sparse ? pkgs.sparse : pkgs.withDefaults;
    const target = url.replace(/^http:\/\//, '');
    this.channel = new grpc.Channel(target, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, ...options });
    for (const s of ['KV', 'Watch', 'Lease', 'Cluster', 'Maintenance', 'Auth'] as const) {
      this.clients.set(s, new pkg.etcdserverpb[s](target, grpc.credentials.createInsecure(), { channelOverride: this.channel }));
    }
  }

  /** A unary call, with `metadata` (a token) if given. */
  call(service: Service, method: string, req: object = {}, metadata?: grpc.Metadata): Promise<any> {
    const c = this.clients.get(service);
    return new Promise((resolve, reject) => {
      const done = (err: GrpcError | null, res: any): void => (err ? reject(err) : resolve(res));
      if (metadata) c[method](req, metadata, done);
      else c[method](req, done);
    });
  }

  /** A bidirectional stream (Watch.Watch, Lease.LeaseKeepAlive), with `metadata` (a token) if given. */
  stream(service: Service, method: string, metadata?: grpc.Metadata): grpc.ClientDuplexStream<object, any> {
    return metadata ? this.clients.get(service)[method](metadata) : this.clients.get(service)[method]();
  }

  /** Turns auth on the way etcdctl users do: a root user with the root role, then AuthEnable. */
  async enableAuth(rootPassword: string): Promise<void> {
    await this.call('Auth', 'UserAdd', { name: 'root', password: rootPassword });
    await this.call('Auth', 'UserGrantRole', { user: 'root', role: 'root' });
    await this.call('Auth', 'AuthEnable', {});
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.channel.close();
  }
}

/** Rejects with the error, or fails when the promise resolves. */
export async function grpcError(p: Promise<unknown>): Promise<GrpcError> {
  try {
    await p;
  } catch (err) {
    return err as GrpcError;
  }
  throw new Error('expected the call to fail');
}

export const buf = (s: string): Buffer => Buffer.from(s, 'utf8');

/** A decoded gRPC message in the JSON gateway's form: bytes as base64 (to reuse its comparators). */
export function toGateway(v: any): any {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (Array.isArray(v)) return v.map(toGateway);
  if (v === null || typeof v !== 'object') return v;
  const out: any = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined && x !== null) out[k] = toGateway(x);
  return out;
}

/** A JSON gateway request body in gRPC form: base64 bytes fields back to Buffers. */
export function fromGateway(v: any): any {
  if (Array.isArray(v)) return v.map(fromGateway);
  if (v === null || typeof v !== 'object') return v;
  const out: any = {};
  for (const [k, x] of Object.entries(v)) out[k] = (k === 'key' || k === 'range_end' || k === 'value') && typeof x === 'string' ? Buffer.from(x, 'base64') : fromGateway(x);
  return out;
}

/**
 * A decoded etcdserverpb.WatchResponse → the engine's WatchResponse, for the watch validator.
 * `prevKvAsked`: the wire has no withPrevKv flag; the watcher's request says it.
 */
export function toWatchResponse(r: any, prevKvAsked = false): import('../../../src/watch/watch-api.ts').WatchResponse {
  // Sparse messages (decoded without defaults) lack the fields at their default.
  const kv = (o: any) => ({
    key: (o.key ?? Buffer.alloc(0)) as Buffer,
    value: (o.value ?? Buffer.alloc(0)) as Buffer,
    createRevision: Number(o.create_revision ?? 0),
    modRevision: Number(o.mod_revision ?? 0),
    version: Number(o.version ?? 0),
    lease: BigInt(o.lease ?? 0),
  });
  const events = (r.events ?? []).map((e: any) => ({ type: e.type === 'DELETE' ? 'DELETE' : 'PUT', kv: kv(e.kv), prevKv: e.prev_kv ? kv(e.prev_kv) : undefined }));
  return {
    watchId: Number(r.watch_id ?? 0),
    revision: Number(r.header?.revision ?? 0),
    created: r.created || undefined,
    canceled: r.canceled || undefined,
    cancelReason: r.cancel_reason || undefined,
    compactRevision: Number(r.compact_revision) || undefined,
    fragment: r.fragment || undefined,
    events,
    withPrevKv: prevKvAsked && events.length > 0,
  };
}

/** One Watch stream on its own client: sends `create`, collects the decoded responses (prev_kv asked). */
export function openGrpcWatch(url: string, create: object): { responses: import('../../../src/watch/watch-api.ts').WatchResponse[]; close(): void } {
  const client = new EtcdGrpc(url);
  const call = client.stream('Watch', 'Watch');
  const responses: import('../../../src/watch/watch-api.ts').WatchResponse[] = [];
  call.on('data', (m: any) => responses.push(toWatchResponse(m, true)));
  call.on('error', () => undefined);
  call.write({ create_request: create });
  return { responses, close: () => (call.cancel(), client.close()) };
}

/** One gRPC length-prefixed message (flag 1 = "compressed"), as a bare HTTP/2 client sends it. */
export function grpcFrame(msg: Buffer, flag = 0): Buffer {
  const f = Buffer.alloc(5 + msg.length);
  f[0] = flag;
  f.writeUInt32BE(msg.length, 1);
  msg.copy(f, 5);
  return f;
}

/**
 * A gRPC health probe (grpc.health.v1, as Kubernetes gRPC probes and grpc-health-probe call it),
 * loaded from the protocol's own definition in src/api/grpc/proto/health.proto.
 */
export class HealthProbe {
  private readonly client: any;

  constructor(url: string) {
    const pkg: any = grpc.loadPackageDefinition(loadSync('health.proto', { includeDirs: [PROTO_DIR], keepCase: true, enums: String, defaults: true }));
    this.client = new pkg.grpc.health.v1.Health(url.replace(/^http:\/\//, ''), grpc.credentials.createInsecure());
  }

  /** Check(service): the status, or the call's error. */
  check(service = ''): Promise<string> {
    return new Promise((resolve, reject) => this.client.Check({ service }, (err: GrpcError | null, res: any) => (err ? reject(err) : resolve(res.status))));
  }

  /** Watch(service): the statuses as they come, and how the call ended (undefined while open). */
  watch(service = ''): { statuses: string[]; ended: { code: number; details: string } | undefined; cancel(): void } {
    const call = this.client.Watch({ service });
    const out = { statuses: [] as string[], ended: undefined as { code: number; details: string } | undefined, cancel: () => call.cancel() };
    call.on('data', (m: any) => out.statuses.push(m.status));
    call.on('error', (e: GrpcError) => (out.ended = { code: e.code, details: e.details }));
    call.on('end', () => (out.ended ??= { code: 0, details: 'OK' }));
    return out;
  }

  close(): void {
    this.client.close();
  }
}
