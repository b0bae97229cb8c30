/**
 * etcd's service definitions, loaded once from proto/rpc.proto (etcd 3.4.23) with
 * @grpc/proto-loader. Requests decode to plain objects: snake_case fields as in the .proto,
 * int64 as decimal strings (lease ids and revisions may exceed 2^53), bytes as Buffers, enums
 * as names, defaults filled, and each oneof's set member named (decode.ts relies on all of it).
 *
 * Methods whose responses are encoded by hand (encode-kv.ts, encode-watch.ts) get a pass-through
 * serializer: their handlers hand grpc-js the finished message bytes.
 */
import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition, type ServiceDefinition } from '@grpc/proto-loader';
import { checkWire } from './wire-check.ts';

const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));

const definitions = loadSync('rpc.proto', {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
});

export type ServiceName = 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance' | 'Auth';

/**
 * The service as grpc-js serves it: each request's wire format checked strictly (wire-check.ts)
 * before protobufjs decodes it, so a torn message is INTERNAL "Error deserializing request" as
 * grpc-go's would be, never a request with a string cut short.
 */
export function serviceDefinition(name: ServiceName): ServiceDefinition {
  return (strictDefinitions[name] ??= strict(definitions[`etcdserverpb.${name}`] as ServiceDefinition));
}

const strictDefinitions: Partial<Record<ServiceName, ServiceDefinition>> = {};

function strict(service: ServiceDefinition): ServiceDefinition {
  const out: Record<string, MethodDefinition<object, object>> = {};
  for (const [name, m] of Object.entries(service)) {
    const decode = m.requestDeserialize;
    const encode = m.responseSerialize;
    out[name] = {
      ...m,
      requestDeserialize: (b: Buffer) => {
        checkWire(b);
        return decode(b);
      },
      responseSerialize: (value: object) => encode(withoutDefaults(value)),
    };
  }
  return out as ServiceDefinition;
}

/**
 * The response with every scalar field at its proto3 default left out ('' , '0', 0, false, an
 * empty Buffer), at any depth; messages stay, even empty. protobufjs writes a field that is set
 * even to its default (`"error":""` in LeaseGrant, `"ID":"0"`, `"isLearner":false`); etcd's
 * gogoproto code never does, and the bytes should be etcd's. (No response in rpc.proto has a
 * scalar inside a oneof, where a default would still have to be written.)
 */
export function withoutDefaults<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(withoutDefaults) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === '' || v === '0' || v === 0 || v === false || v === null || v === undefined || (Buffer.isBuffer(v) && v.length === 0)) continue;
    out[k] = withoutDefaults(v);
  }
  return out as T;
}

/** grpc.health.v1.Health (proto/health.proto): the probe service etcd registers beside its own. */
export function healthServiceDefinition(): ServiceDefinition {
  const health = loadSync('health.proto', { includeDirs: [PROTO_DIR], keepCase: true, enums: String, defaults: true });
  return health['grpc.health.v1.Health'] as ServiceDefinition;
}

const passThrough = (b: Buffer): Buffer => b;

/** The service with the named methods' responses taken as already-encoded bytes. */
export function withRawResponses(service: ServiceDefinition, methods: readonly string[]): ServiceDefinition {
  const out: Record<string, MethodDefinition<object, object>> = { ...service };
  for (const m of methods) {
    const def = service[m];
    if (!def) throw new Error(`unknown method ${m}`);
    out[m] = { ...def, responseSerialize: passThrough as never };
  }
  return out as ServiceDefinition;
}
