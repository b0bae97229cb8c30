/**
 * A lean etcd gRPC client for tests (the same for etcd and watchkv): grpc-js + proto-loader over
 * src/api/grpc/proto, messages as plain objects (int64 as strings, bytes as Buffers, enums as
 * names, defaults filled). Unary calls return promises; errors carry grpc-js's `code`/`details`.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const PROTO_DIR = fileURLToPath(new URL('../../../src/api/grpc/proto/', import.meta.url));
const pkg = grpc.loadPackageDefinition(
  loadSync('rpc.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true }),
) as any;

export type Service = 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance' | 'Auth';

export interface GrpcError extends Error {
  code: number;
  details: string;
}

export class EtcdGrpc {
  private readonly clients = new Map<Service, any>();
  private readonly channel: grpc.Channel;

  /** `url`: http://host:port */
  constructor(url: string, options: grpc.ChannelOptions = {}) {
    const target = url.replace(/^http:\/\//, '');
    this.channel = new grpc.Channel(target, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, ...options });
    for (const s of ['KV', 'Watch', 'Lease', 'Cluster', 'Maintenance', 'Auth'] as const) {
      this.clients.set(s, new pkg.etcdserverpb[s](target, grpc.credentials.createInsecure(), { channelOverride: this.channel }));
    }
  }

  call(service: Service, method: string, req: object = {}): Promise<any> {
    const c = this.clients.get(service);
    return new Promise((resolve, reject) => {
      c[method](req, (err: GrpcError | null, res: any) => (err ? reject(err) : resolve(res)));
    });
  }

  /** A bidirectional stream (Watch.Watch, Lease.LeaseKeepAlive). */
  stream(service: Service, method: string): grpc.ClientDuplexStream<object, any> {
    return this.clients.get(service)[method]();
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

/**
 * A decoded etcdserverpb.WatchResponse → the engine's WatchResponse, for the watch validator.
 * `prevKvAsked`: the wire has no withPrevKv flag; the watcher's request says it.
 */
export function toWatchResponse(r: any, prevKvAsked = false): import('../../../src/watch/watch-api.ts').WatchResponse {
  const kv = (o: any) => ({
    key: o.key as Buffer,
    value: o.value as Buffer,
    createRevision: Number(o.create_revision),
    modRevision: Number(o.mod_revision),
    version: Number(o.version),
    lease: BigInt(o.lease),
  });
  const events = (r.events ?? []).map((e: any) => ({ type: e.type === 'DELETE' ? 'DELETE' : 'PUT', kv: kv(e.kv), prevKv: e.prev_kv ? kv(e.prev_kv) : undefined }));
  return {
    watchId: Number(r.watch_id),
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
