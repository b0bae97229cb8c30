/**
 * Property-based fuzzing (fast-check) of gRPC Watch streams on their direct path
 * (src/api/grpc/fast-watch.ts), sent by a bare HTTP/2 client in random DATA-frame cuts: random
 * bytes, frames with random flags and lengths, random protobuf fields, and well-formed create /
 * cancel / progress requests with random keys, ranges, revisions and options. Properties, per
 * input:
 *   - every message the server sends decodes as an etcdserverpb.WatchResponse;
 *   - the call ends with a grpc-status (in trailers, or trailers-only) within a bound: OK when the
 *     client half-closed and nothing was wrong, else a gRPC code with a message;
 *   - the server never crashes or hangs: afterwards a plain watch still gets a put's event.
 * Replay with TEST_SEED=<seed> (fast-check seed); TEST_FUZZ_RUNS scales the run count.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import http2 from 'node:http2';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { ProtobufWriter } from '../../src/lib/protobuf-writer.ts';
import { serviceDefinition } from '../../src/api/grpc/proto.ts';
import { EtcdGrpc, buf, grpcFrame } from '../api/grpc/grpc-client.ts';
import { testSeed } from '../support/rng.ts';

const SEED = testSeed();
const RUNS = Number(process.env.TEST_FUZZ_RUNS) || 150;
const decodeResponse = serviceDefinition('Watch').Watch!.responseDeserialize;
let srv: TestServer;
let session: http2.ClientHttp2Session;

test.before(async () => {
  srv = await startTestServer({ maxRequestBytes: 4096 }, { memory: true });
  session = http2.connect(srv.url);
  session.on('error', () => {});
});
test.after(async () => {
  session.destroy();
  await srv.stop();
});

const key = fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a));
const rev = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 }), fc.constant(2 ** 40));

const createReq = fc
  .record({ key, end: fc.option(fc.oneof(key, fc.constant(Buffer.from([0]))), { nil: undefined }), start: rev, prevKv: fc.boolean(), progress: fc.boolean(), fragment: fc.boolean(), filters: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }), watchId: fc.integer({ min: -2, max: 5 }) })
  .map((r) => {
    const c = new ProtobufWriter().bytes(1, r.key);
    if (r.end) c.bytes(2, r.end);
    c.int(3, r.start).bool(4, r.progress);
    for (const f of r.filters) c.int(5, f);
    c.bool(6, r.prevKv).int(7, r.watchId).bool(8, r.fragment);
    return new ProtobufWriter().message(1, c.finish()).finish();
  });
const cancelReq = fc.integer({ min: -1, max: 6 }).map((id) => new ProtobufWriter().message(2, new ProtobufWriter().int(1, id).finish()).finish());
const progressReq = fc.constant(new ProtobufWriter().message(3, Buffer.alloc(0)).finish());
const randomFields = fc.array(fc.record({ field: fc.integer({ min: 1, max: 20 }), bytes: fc.uint8Array({ maxLength: 12 }) }), { maxLength: 4 }).map((fs) => {
  const w = new ProtobufWriter();
  for (const f of fs) w.bytes(f.field, Buffer.from(f.bytes));
  return w.finish();
});

/** One piece of what the client sends: a framed message, or raw bytes (broken framing). */
const piece = fc.oneof(
  { weight: 4, arbitrary: createReq.map((m) => grpcFrame(m)) },
  { weight: 2, arbitrary: fc.oneof(cancelReq, progressReq).map((m) => grpcFrame(m)) },
  { weight: 2, arbitrary: randomFields.map((m) => grpcFrame(m)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 24 }).map((m) => grpcFrame(Buffer.from(m), 1)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 24 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.integer({ min: 4097, max: 2 ** 31 }).map((len) => Buffer.from([0, len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255])) },
);

interface Outcome {
  status: number;
  message: string;
  messages: number;
  bad: string | null;
}

function run(bytes: Buffer, cuts: number[], halfClose: boolean): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':method': 'POST', ':path': '/etcdserverpb.Watch/Watch', 'content-type': 'application/grpc', te: 'trailers' });
    let inbox = Buffer.alloc(0);
    const out: Outcome = { status: -1, message: '', messages: 0, bad: null };
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`no status within 5 s (${out.messages} messages)`));
    }, 5000);
    s.on('data', (c: Buffer) => {
      inbox = Buffer.concat([inbox, c]);
      while (inbox.length >= 5 && inbox.length >= 5 + inbox.readUInt32BE(1)) {
        const m = inbox.subarray(5, 5 + inbox.readUInt32BE(1));
        inbox = inbox.subarray(5 + m.length);
        out.messages++;
        try {
          decodeResponse(m);
        } catch (e) {
          out.bad ??= `undecodable response: ${(e as Error).message}`;
        }
      }
    });
    const done = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] === undefined) return;
      out.status = Number(h['grpc-status']);
      out.message = decodeURI(String(h['grpc-message'] ?? ''));
      clearTimeout(timer);
      // A client still sending cancels its half; one that half-closed is done (a reset after
      // the stream closed would count as an invalid frame, and Node's HTTP/2 server ends the
      // session after 1,000 of those).
      if (!halfClose) s.close();
      resolve(out);
    };
    s.on('response', done);
    s.on('trailers', done);
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    let at = 0;
    for (const cut of [...cuts, bytes.length]) {
      const end = Math.min(Math.max(cut, at), bytes.length);
      if (end > at) s.write(bytes.subarray(at, end));
      at = end;
    }
    if (halfClose) s.end();
    else setTimeout(() => s.close(), 50); // a client that cancels instead: no status owed
  });
}

test('random Watch streams: well-formed responses, a status at the end, no crash', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(200), { maxLength: 4 }), fc.boolean(), async (pieces, cuts, halfClose) => {
      const bytes = Buffer.concat(pieces);
      const o = await run(bytes, [...cuts].sort((a, b) => a - b), halfClose);
      const ctx = `pieces ${pieces.map((p) => p.toString('hex')).join(' ')}; cuts ${cuts}; halfClose ${halfClose}`;
      assert.is(o.bad, null, ctx);
      if (halfClose) {
        assert.ok(o.status >= 0 && o.status <= 16, `a gRPC status: ${o.status} (${ctx})`);
        if (o.status !== 0) assert.ok(o.message.length > 0, `a non-OK status says why (${ctx})`);
      }
    }),
    { numRuns: RUNS, seed: SEED },
  );
  // Still serving: a plain watch gets a put's event.
  const c = new EtcdGrpc(srv.url);
  try {
    const call = c.stream('Watch', 'Watch');
    call.on('error', () => {}); // the server's stop after the test ends it
    const got = new Promise<string>((resolve) => call.on('data', (r: any) => r.events?.length && resolve(r.events[0].kv.value.toString())));
    const created = new Promise((resolve) => call.once('data', resolve));
    call.write({ create_request: { key: buf('after') } });
    await created;
    await c.call('KV', 'Put', { key: buf('after'), value: buf('alive') });
    assert.is(await got, 'alive');
    call.end();
  } finally {
    c.close();
  }
});

test.run();
