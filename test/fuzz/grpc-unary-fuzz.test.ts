/**
 * Property-based fuzzing (fast-check) of every unary and server-streaming gRPC method of etcd's
 * services (KV, Lease, Cluster, Maintenance, Auth), sent by a bare HTTP/2 client as the
 * simplest clients are. Requests are generated from each method's own request schema (the
 * .proto as @grpc/proto-loader reads it): random subsets of its fields with edge values (ids and
 * revisions at 0, -1, 2^53 and 2^63-1, empty and invalid-UTF-8 strings, unknown enum numbers,
 * nested messages and repeated fields), then sometimes mutated — a field with the wrong wire
 * type, an unknown field, the tail cut off, or plain random bytes. Properties, per call:
 *   - the call ends with a grpc-status, and a non-OK status says why;
 *   - no handler fails on the input: no UNKNOWN / INTERNAL status carrying a JavaScript error
 *     (a TypeError or RangeError message is a crash grpc-js caught, not an answer);
 *   - an OK answer decodes as the method's response type.
 * Afterwards the server still serves: /healthz answers and a put can be read back (on the
 * server that fuzzes Auth, as root once auth may have been turned on).
 * Replay with TEST_SEED=<seed> (fast-check seed); TEST_FUZZ_RUNS scales the run count.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { serviceDefinition, type ServiceName } from '../../src/api/grpc/proto.ts';
import { grpcFrame } from '../api/grpc/grpc-client.ts';
import { testSeed } from '../support/rng.ts';

const SEED = testSeed();
const RUNS = Number(process.env.TEST_FUZZ_RUNS) || 300;

// ---- the schema, as proto-loader describes it (google.protobuf.DescriptorProto objects) ----

interface FieldDesc {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDesc {
  field: FieldDesc[];
  /** Enums declared inside the message (RangeRequest.SortOrder): named by fields without scope. */
  enumType: Array<{ name: string; value: Array<{ number: number }> }>;
}
const defs = loadSync('rpc.proto', { includeDirs: [fileURLToPath(new URL('../../src/api/grpc/proto/', import.meta.url))], keepCase: true });
/** A type by the name a field gives it: fully qualified, or relative to one of etcd's packages. */
function lookup(typeName: string): { type?: unknown } | undefined {
  const name = typeName.replace(/^\./, '');
  for (const pkg of ['', 'etcdserverpb.', 'mvccpb.', 'authpb.']) {
    const t = defs[pkg + name] as { type?: unknown } | undefined;
    if (t?.type) return t;
  }
  return undefined;
}
function messageDesc(typeName: string): MessageDesc {
  const t = lookup(typeName);
  if (!t) throw new Error(`no message type ${typeName}`);
  return t.type as MessageDesc;
}
function enumValues(typeName: string, scope: MessageDesc): number[] {
  const local = scope.enumType.find((e) => e.name === typeName.split('.').pop());
  const t = local ?? (lookup(typeName)?.type as { value: Array<{ number: number }> } | undefined);
  if (!t) throw new Error(`no enum type ${typeName}`);
  return t.value.map((v) => v.number);
}

// ---- a small protobuf writer with 64-bit varints (revisions and ids may be past 2^53) ----

function varint(v: bigint): Buffer {
  let x = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return Buffer.from(out);
}
const tag = (field: number, wire: number): Buffer => varint(BigInt((field << 3) | wire));
const lenField = (field: number, bytes: Buffer): Buffer => Buffer.concat([tag(field, 2), varint(BigInt(bytes.length)), bytes]);

// ---- request generators from the schema ----

const ints = fc.oneof(
  fc.constantFrom(0n, 1n, -1n, 2n ** 31n, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n)),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.integer({ min: 0, max: 40 }).map(BigInt),
);
const shortBytes = fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a));
const strings = fc.oneof(
  fc.constantFrom('', 'root', 'a', 'r'),
  fc.string({ maxLength: 8 }),
  fc.constant(Buffer.from([0xff, 0xfe])), // invalid UTF-8
);

function valueOf(f: FieldDesc, scope: MessageDesc, depth: number): fc.Arbitrary<Buffer> {
  switch (f.type) {
    case 'TYPE_INT64':
    case 'TYPE_UINT64':
    case 'TYPE_INT32':
    case 'TYPE_UINT32':
      return ints.map((v) => Buffer.concat([tag(f.number, 0), varint(v)]));
    case 'TYPE_BOOL':
      return fc.constantFrom(0n, 1n, 2n).map((v) => Buffer.concat([tag(f.number, 0), varint(v)]));
    case 'TYPE_ENUM':
      return fc.oneof(fc.constantFrom(...enumValues(f.typeName, scope)), fc.integer({ min: -1, max: 9 })).map((v) => Buffer.concat([tag(f.number, 0), varint(BigInt(v))]));
    case 'TYPE_STRING':
      return strings.map((s) => lenField(f.number, Buffer.isBuffer(s) ? s : Buffer.from(s)));
    case 'TYPE_BYTES':
      return shortBytes.map((b) => lenField(f.number, b));
    case 'TYPE_MESSAGE':
      return depth >= 3 ? fc.constant(lenField(f.number, Buffer.alloc(0))) : messageOf(messageDesc(f.typeName), depth + 1).map((m) => lenField(f.number, m));
    default:
      throw new Error(`field type ${f.type} not generated`);
  }
}

function messageOf(desc: MessageDesc, depth = 0): fc.Arbitrary<Buffer> {
  if (desc.field.length === 0) return fc.constant(Buffer.alloc(0));
  const perField = desc.field.map((f) => {
    const one = valueOf(f, desc, depth);
    const n = f.label === 'LABEL_REPEATED' ? { maxLength: depth === 0 ? 3 : 2 } : { maxLength: 1 };
    return fc.array(one, n);
  });
  return fc.tuple(...perField).map((parts) => Buffer.concat(parts.flat()));
}

/** A request for the method: well-formed from the schema, or mutated, or random. */
function requestOf(desc: MessageDesc): fc.Arbitrary<Buffer> {
  const good = messageOf(desc);
  return fc.oneof(
    { weight: 6, arbitrary: good },
    { weight: 1, arbitrary: fc.tuple(good, fc.integer({ min: 1, max: 12 }), shortBytes).map(([m, field, b]) => Buffer.concat([m, lenField(field, b)])) },
    { weight: 1, arbitrary: fc.tuple(good, fc.integer({ min: 1, max: 12 }), ints).map(([m, field, v]) => Buffer.concat([m, tag(field, 0), varint(v)])) },
    { weight: 1, arbitrary: fc.tuple(good, fc.nat()).map(([m, cut]) => m.subarray(0, m.length === 0 ? 0 : cut % m.length)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)) },
  );
}

// ---- the methods ----

interface Method {
  path: string;
  request: MessageDesc;
  decode(b: Buffer): unknown;
  streaming: boolean;
}
function methodsOf(services: ServiceName[]): Method[] {
  const out: Method[] = [];
  for (const s of services) {
    for (const [name, def] of Object.entries(serviceDefinition(s))) {
      if (def.requestStream) continue; // Watch and LeaseKeepAlive: their own fuzz tests
      const type = (def as unknown as { requestType: { type: MessageDesc } }).requestType.type;
      out.push({ path: `/etcdserverpb.${s}/${name}`, request: type, decode: def.responseDeserialize, streaming: def.responseStream });
    }
  }
  return out;
}

// ---- one call over a bare HTTP/2 stream ----

interface Answer {
  status: number;
  message: string;
  messages: Buffer[];
}
function call(session: http2.ClientHttp2Session, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let inbox = Buffer.alloc(0);
    const out: Answer = { status: -1, message: '', messages: [] };
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`${path}: no status within 10 s`));
    }, 10_000);
    const take = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] === undefined) return;
      out.status = Number(h['grpc-status']);
      out.message = decodeURIComponent(String(h['grpc-message'] ?? ''));
    };
    s.on('response', take);
    s.on('trailers', take);
    s.on('data', (c: Buffer) => {
      inbox = Buffer.concat([inbox, c]);
      while (inbox.length >= 5 && inbox.length >= 5 + inbox.readUInt32BE(1)) {
        out.messages.push(inbox.subarray(5, 5 + inbox.readUInt32BE(1)));
        inbox = inbox.subarray(5 + inbox.readUInt32BE(1));
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.end(grpcFrame(body));
  });
}

/** A JavaScript error's message in a status: a handler failed instead of answering. */
const CRASH = /TypeError|RangeError|ReferenceError|SyntaxError|Cannot read|is not a function|undefined|NaN|Invalid array length|BigInt/;

async function fuzz(services: ServiceName[], srv: TestServer, opts: { token?: string; skip?: string[]; runs?: number } = {}): Promise<void> {
  const session = http2.connect(srv.url);
  session.on('error', () => {});
  const headers: Record<string, string> = opts.token ? { token: opts.token } : {};
  const methods = methodsOf(services).filter((m) => !opts.skip?.includes(m.path));
  const arb = fc.oneof(...methods.map((m) => requestOf(m.request).map((body) => ({ m, body }))));
  try {
    await fc.assert(
      fc.asyncProperty(arb, async ({ m, body }) => {
        const a = await call(session, m.path, body, headers);
        const ctx = `${m.path} ${body.toString('hex')} → ${a.status} ${a.message}`;
        assert.ok(a.status >= 0 && a.status <= 16, `a gRPC status (${ctx})`);
        if (a.status !== 0) assert.ok(a.message.length > 0, `a non-OK status says why (${ctx})`);
        assert.not.match(a.message, CRASH, `an answer, not a handler failure (${ctx})`);
        if (a.status === 2 || a.status === 13) assert.match(a.message, /^(etcdserver|auth|Error deserializing|mvcc|lease)/, `UNKNOWN/INTERNAL only as etcd words them (${ctx})`);
        if (a.status === 0) {
          if (!m.streaming) assert.is(a.messages.length, 1, `one response (${ctx})`);
          for (const msg of a.messages) m.decode(msg);
        }
      }),
      { numRuns: opts.runs ?? RUNS, seed: SEED },
    );
  } finally {
    session.close();
  }
}

async function stillServes(srv: TestServer, token?: string): Promise<void> {
  assert.is((await fetch(`${srv.url}/healthz`)).status, 200);
  const session = http2.connect(srv.url);
  session.on('error', () => {});
  try {
    const h: Record<string, string> = token ? { token } : {};
    // The fuzz may have raised alarms (NOSPACE, CORRUPT refuse writes): disarm them as etcdctl does.
    const alarm = serviceDefinition('Maintenance').Alarm!;
    const listed = await call(session, '/etcdserverpb.Maintenance/Alarm', alarm.requestSerialize({ action: 'GET' }), h);
    assert.is(listed.status, 0, `alarm list after the fuzz: ${listed.message}`);
    for (const a of (alarm.responseDeserialize(listed.messages[0]!) as { alarms: object[] }).alarms) {
      assert.is((await call(session, '/etcdserverpb.Maintenance/Alarm', alarm.requestSerialize({ ...a, action: 'DEACTIVATE' }), h)).status, 0);
    }
    const put = Buffer.concat([lenField(1, Buffer.from('fuzz/after')), lenField(2, Buffer.from('alive'))]);
    const p = await call(session, '/etcdserverpb.KV/Put', put, h);
    assert.is(p.status, 0, `put after the fuzz: ${p.message}`);
    const r = await call(session, '/etcdserverpb.KV/Range', lenField(1, Buffer.from('fuzz/after')), h);
    assert.is(r.status, 0, `range after the fuzz: ${r.message}`);
    assert.ok(r.messages[0]!.includes(Buffer.from('alive')), 'the put is read back');
  } finally {
    session.close();
  }
}

test('KV, Lease, Cluster and Maintenance: every random request gets a status, no handler fails', async () => {
  const srv = await startTestServer({ maxRequestBytes: 4096 }, { memory: true });
  try {
    await fuzz(['KV', 'Lease', 'Cluster', 'Maintenance'], srv);
    await stillServes(srv);
  } finally {
    await srv.stop();
  }
});

test('Auth: every random request gets a status, no handler fails, with auth off and on as root', async () => {
  const srv = await startTestServer({}, { memory: true });
  const session = http2.connect(srv.url);
  session.on('error', () => {});
  const root = Buffer.concat([lenField(1, Buffer.from('root')), lenField(2, Buffer.from('rootpw'))]);
  try {
    // Auth off: every admin call reaches its handler (AuthEnable waits for the second half).
    await fuzz(['Auth', 'KV'], srv, { skip: ['/etcdserverpb.Auth/AuthEnable'], runs: Math.ceil(RUNS / 2) });
    // Auth on, calls made as root: they pass the gate and reach the handlers again, now with
    // the rules that hold while auth is on (root cannot be deleted or lose its role, ...).
    await call(session, '/etcdserverpb.Auth/UserDelete', lenField(1, Buffer.from('root')));
    await call(session, '/etcdserverpb.Auth/RoleDelete', lenField(1, Buffer.from('root')));
    assert.is((await call(session, '/etcdserverpb.Auth/UserAdd', root)).status, 0);
    assert.is((await call(session, '/etcdserverpb.Auth/RoleAdd', lenField(1, Buffer.from('root')))).status, 0);
    assert.is((await call(session, '/etcdserverpb.Auth/UserGrantRole', Buffer.concat([lenField(1, Buffer.from('root')), lenField(2, Buffer.from('root'))]))).status, 0);
    const enabled = await call(session, '/etcdserverpb.Auth/AuthEnable', Buffer.alloc(0));
    assert.is(enabled.status, 0, enabled.message);
    const auth = await call(session, '/etcdserverpb.Auth/Authenticate', root);
    assert.is(auth.status, 0, auth.message);
    const token = (serviceDefinition('Auth').Authenticate!.responseDeserialize(auth.messages[0]!) as { token: string }).token;
    // (AuthDisable, as in etcd, ends every token: the calls after it would all stop at the gate.)
    await fuzz(['Auth', 'KV'], srv, { token, skip: ['/etcdserverpb.Auth/AuthDisable'], runs: Math.ceil(RUNS / 2) });
    // Whatever the fuzz changed (auth turned off, root's password), a read gets OK or etcd's
    // auth error: an answer, not silence or a failure.
    assert.is((await fetch(`${srv.url}/healthz`)).status, 200);
    const r = await call(session, '/etcdserverpb.KV/Range', lenField(1, Buffer.from('k')), { token });
    assert.ok(r.status === 0 || /^etcdserver: (user name is empty|invalid auth token|permission denied)/.test(r.message), `range after the fuzz: ${r.status} ${r.message}`);
  } finally {
    session.close();
    await srv.stop();
  }
});

test.run();
