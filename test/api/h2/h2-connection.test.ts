/**
 * watchkv's own HTTP/2 layer (src/api/h2/), frame by frame on a raw socket against the real
 * server: the handshake and PING, flow control in both directions (a response held by a small
 * client window and released by WINDOW_UPDATE), header blocks split over CONTINUATION, padded
 * frames, streams multiplexed between the direct paths and grpc-js on one connection, malformed
 * requests reset alone, and protocol violations answered with GOAWAY while other connections
 * go on. Real clients over it: etcdctl, grpc-js (npm etcd3), python-etcd3, h2load, curl and
 * etcd's grpc-proxy all run the test/api/grpc suite on this layer (it is the default).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/test-server.ts';
import { RawH2, frame, grpcMessage, grpcRequestHeaders, headerBlock, pbBytes, type Frame } from '../../support/raw-h2.ts';

const DATA = 0;
const HEADERS = 1;
const RST_STREAM = 3;
const SETTINGS = 4;
const PING = 6;
const GOAWAY = 7;
const WINDOW_UPDATE = 8;
const CONTINUATION = 9;
const END_STREAM = 1;
const END_HEADERS = 4;
const PADDED = 8;
const SETTINGS_INITIAL_WINDOW_SIZE = 4;

let srv: TestServer;
test.before(async () => {
  srv = await startTestServer({}, { memory: true });
});
test.after(() => srv.stop());

const b = (s: string) => Buffer.from(s);
const putBody = (key: string, value: Buffer) => grpcMessage(pbBytes([[1, b(key)], [2, value]]));
const rangeBody = (key: string) => grpcMessage(pbBytes([[1, b(key)]]));

/** One unary call's HEADERS + DATA frames of at most 16384 bytes, the last with END_STREAM. */
function unary(stream: number, path: string, body: Buffer): Buffer {
  const frames = [frame(HEADERS, END_HEADERS, stream, headerBlock(grpcRequestHeaders(path)))];
  for (let o = 0; o < body.length; o += 16_384) frames.push(frame(DATA, o + 16_384 >= body.length ? END_STREAM : 0, stream, body.subarray(o, o + 16_384)));
  return Buffer.concat(frames);
}

/** The call's response: its header fields, DATA bytes and trailer fields, once the trailers came. */
async function response(c: RawH2, stream: number): Promise<{ headers: Record<string, string>; data: Buffer; trailers: Record<string, string> }> {
  await c.next((f) => f.stream === stream && f.type === HEADERS && (f.flags & END_STREAM) !== 0);
  const frames = c.on(stream);
  const blocks = frames.filter((f) => f.type === HEADERS);
  const headers = c.decode(blocks[0]!.payload);
  const trailers = blocks.length > 1 ? c.decode(blocks[1]!.payload) : headers;
  return { headers, data: Buffer.concat(frames.filter((f) => f.type === DATA).map((f) => f.payload)), trailers };
}

test('handshake: SETTINGS both ways and acknowledged, PING answered with its payload', async () => {
  const c = await RawH2.connect(srv.url);
  try {
    await c.next((f) => f.type === SETTINGS && f.flags === 1);
    c.send(frame(PING, 0, 0, b('12345678')));
    const pong = await c.next((f) => f.type === PING);
    assert.equal([pong.flags, pong.payload.toString()], [1, '12345678']);
  } finally {
    c.close();
  }
});

test('flow control out: a 40 KB value waits for the client window, and comes whole after WINDOW_UPDATE', async () => {
  const value = Buffer.alloc(40_000, 'x');
  const c = await RawH2.connect(srv.url, [[SETTINGS_INITIAL_WINDOW_SIZE, 1000]]);
  try {
    c.send(unary(1, '/etcdserverpb.KV/Put', putBody('big', value)));
    assert.is((await response(c, 1)).trailers['grpc-status'], '0');
    c.send(unary(3, '/etcdserverpb.KV/Range', rangeBody('big')));
    await c.next((f) => f.stream === 3 && f.type === HEADERS);
    await new Promise((r) => setTimeout(r, 100));
    const held = c.on(3).filter((f) => f.type === DATA);
    assert.is(held.reduce((n, f) => n + f.payload.length, 0), 1000, 'exactly the stream window, no more');
    assert.not.ok(c.on(3).some((f) => f.type === HEADERS && f.flags & END_STREAM), 'no trailers before the data');
    const inc = Buffer.alloc(4);
    inc.writeUInt32BE(100_000);
    c.send(frame(WINDOW_UPDATE, 0, 3, inc));
    const r = await response(c, 3);
    assert.is(r.trailers['grpc-status'], '0');
    assert.ok(r.data.includes(value), 'the whole value, in order');
  } finally {
    c.close();
  }
});

test('a tick with over 64 KB to send goes out gathered, every frame whole and in order', async () => {
  // Three answers of a 300 KB value each, asked in one packet: one tick frames ~900 KB, which
  // the layer writes as a gathered write of the frames rather than one joined buffer.
  const value = Buffer.alloc(300_000);
  for (let i = 0; i < value.length; i++) value[i] = (i * 7 + (i >> 11)) & 0xff;
  const c = await RawH2.connect(srv.url, [[SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20]]);
  try {
    const inc = Buffer.alloc(4);
    inc.writeUInt32BE(4 << 20);
    c.send(frame(WINDOW_UPDATE, 0, 0, inc), unary(1, '/etcdserverpb.KV/Put', putBody('gathered', value)));
    assert.is((await response(c, 1)).trailers['grpc-status'], '0');
    c.send(unary(3, '/etcdserverpb.KV/Range', rangeBody('gathered')), unary(5, '/etcdserverpb.KV/Range', rangeBody('gathered')), unary(7, '/etcdserverpb.KV/Range', rangeBody('gathered')));
    for (const id of [3, 5, 7]) {
      const r = await response(c, id);
      assert.is(r.trailers['grpc-status'], '0');
      assert.is(r.data.readUInt32BE(1), r.data.length - 5, 'one length-prefixed message, no byte lost or added');
      assert.ok(r.data.includes(value), `stream ${id}: the whole value, in order`);
    }
  } finally {
    c.close();
  }
});

test('a header block over HEADERS + CONTINUATION, padded frames, and calls to both paths on one connection', async () => {
  const c = await RawH2.connect(srv.url);
  try {
    const block = headerBlock(grpcRequestHeaders('/etcdserverpb.KV/Put'));
    const padded = Buffer.concat([Buffer.from([3]), putBody('cont', b('v1')), Buffer.alloc(3)]);
    c.send(frame(HEADERS, 0, 1, block.subarray(0, 10)), frame(CONTINUATION, END_HEADERS, 1, block.subarray(10)), frame(DATA, END_STREAM | PADDED, 1, padded));
    const put = await response(c, 1);
    assert.equal([put.headers[':status'], put.trailers['grpc-status']], ['200', '0']);
    // LeaseGrant is answered by grpc-js (through the internal session), Range directly: both here.
    c.send(unary(3, '/etcdserverpb.Lease/LeaseGrant', grpcMessage(Buffer.from([0x08, 60]))), unary(5, '/etcdserverpb.KV/Range', rangeBody('cont')));
    const [lease, range] = await Promise.all([response(c, 3), response(c, 5)]);
    assert.is(lease.trailers['grpc-status'], '0');
    assert.ok(lease.data.length > 5, 'a LeaseGrantResponse');
    assert.is(range.trailers['grpc-status'], '0');
    assert.ok(range.data.includes(b('v1')));
  } finally {
    c.close();
  }
});

test('a malformed request resets its stream only; an unknown method gets the status etcd gives', async () => {
  const c = await RawH2.connect(srv.url);
  try {
    // No :path: RST_STREAM PROTOCOL_ERROR.
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, headerBlock([[':method', 'POST'], [':scheme', 'http'], ['content-type', 'application/grpc']])));
    const rst = await c.next((f) => f.stream === 1 && f.type === RST_STREAM);
    assert.is(rst.payload.readUInt32BE(0), 1);
    c.send(unary(3, '/etcdserverpb.KV/Nope', rangeBody('x')));
    assert.is((await response(c, 3)).trailers['grpc-status'], '12');
    c.send(unary(5, '/etcdserverpb.KV/Range', rangeBody('x')));
    assert.is((await response(c, 5)).trailers['grpc-status'], '0', 'the connection goes on');
    // Answered at once (unknown method) on a HEADERS that ended the request: no reset after it.
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 7, headerBlock(grpcRequestHeaders('/etcdserverpb.KV/Nope'))));
    assert.is((await response(c, 7)).trailers['grpc-status'], '12');
    await new Promise((r) => setTimeout(r, 20));
    assert.not.ok(c.on(7).some((f) => f.type === RST_STREAM), 'a call the client finished sending is not reset after its answer');
  } finally {
    c.close();
  }
});

async function goaway(send: (c: RawH2) => void): Promise<Frame> {
  const c = await RawH2.connect(srv.url);
  try {
    send(c);
    const g = await c.next((f) => f.type === GOAWAY);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(c.closed || c.socket.readableEnded, 'the server closed the connection');
    return g;
  } finally {
    c.close();
  }
}

test('protocol violations end the connection with GOAWAY and the RFC 9113 code; others are unaffected', async () => {
  const code = (g: Frame) => g.payload.readUInt32BE(4);
  assert.is(code(await goaway((c) => c.send(frame(DATA, 0, 0, b('x'))))), 1, 'DATA on stream 0: PROTOCOL_ERROR');
  assert.is(code(await goaway((c) => c.send(frame(DATA, 0, 1, Buffer.alloc(20_000))))), 6, 'a frame above 16384: FRAME_SIZE_ERROR');
  assert.is(code(await goaway((c) => c.send(frame(HEADERS, END_HEADERS, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]))))), 9, 'bad HPACK: COMPRESSION_ERROR');
  assert.is(code(await goaway((c) => c.send(frame(PING, 0, 0, b('short'))))), 6, 'PING of 5 bytes: FRAME_SIZE_ERROR');
  assert.is(code(await goaway((c) => c.send(frame(HEADERS, 0, 1, b('')), frame(PING, 0, 0, b('12345678'))))), 1, 'a header block interrupted: PROTOCOL_ERROR');
  const c = await RawH2.connect(srv.url);
  try {
    c.send(unary(1, '/etcdserverpb.KV/Range', rangeBody('x')));
    assert.is((await response(c, 1)).trailers['grpc-status'], '0');
  } finally {
    c.close();
  }
});

test('rapid reset (CVE-2023-44487): a client cancelling streams by the thousand is cut off with ENHANCE_YOUR_CALM', async () => {
  const g = await goaway((c) => {
    const frames: Buffer[] = [];
    const cancel = Buffer.from([0, 0, 0, 8]);
    // Watch streams: opened, answered by nothing yet, then cancelled.
    for (let i = 0; i < 1500; i++) frames.push(frame(HEADERS, END_HEADERS, 1 + 2 * i, headerBlock(grpcRequestHeaders('/etcdserverpb.Watch/Watch'))), frame(RST_STREAM, 0, 1 + 2 * i, cancel));
    c.send(...frames);
  });
  assert.is(g.payload.readUInt32BE(4), 11);
});

test('flow control in: the server opens a large window and gives it back as requests arrive', async () => {
  const c = await RawH2.connect(srv.url);
  try {
    const settings = await c.next((f) => f.type === SETTINGS && f.flags === 0);
    const window = new Map<number, number>();
    for (let o = 0; o < settings.payload.length; o += 6) window.set(settings.payload.readUInt16BE(o), settings.payload.readUInt32BE(o + 2));
    assert.ok((window.get(SETTINGS_INITIAL_WINDOW_SIZE) ?? 0) >= 1 << 20);
    const before = c.frames.filter((f) => f.type === WINDOW_UPDATE && f.stream === 0).length;
    // 2 MB in, twice the 1 MiB window, in rounds of ten 40 KB puts (400 KB, inside the window):
    // only possible if the window comes back between rounds.
    for (let round = 0; round < 5; round++) {
      const ids = Array.from({ length: 10 }, (_, i) => 1 + 2 * (10 * round + i));
      for (const id of ids) c.send(unary(id, '/etcdserverpb.KV/Put', putBody(`w${id}`, Buffer.alloc(40_000, 'y'))));
      for (const id of ids) assert.is((await response(c, id)).trailers['grpc-status'], '0');
    }
    assert.ok(c.frames.filter((f) => f.type === WINDOW_UPDATE && f.stream === 0).length > before, 'the connection window was given back');
  } finally {
    c.close();
  }
});

test('fuzz: 150 connections of seeded random frames never take the server down', async () => {
  let seed = Number(process.env.H2_FUZZ_SEED ?? 0x2b1d);
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let conn = 0; conn < 150; conn++) {
    const c = await RawH2.connect(srv.url);
    const frames: Buffer[] = [];
    for (let i = 0; i < 1 + rand(6); i++) {
      // Mostly well-formed requests with random damage, some pure noise.
      const stream = 1 + 2 * rand(4);
      if (rand(3) === 0) frames.push(unary(stream, ['/etcdserverpb.KV/Range', '/etcdserverpb.Lease/LeaseGrant', '/etcdserverpb.Watch/Watch'][rand(3)]!, rangeBody('f')));
      const payload = Buffer.from(Array.from({ length: rand(40) }, () => rand(256)));
      frames.push(frame(rand(11), rand(256), rand(3) === 0 ? 0 : stream, payload));
    }
    c.send(...frames);
    await new Promise((r) => setTimeout(r, 2));
    c.close();
  }
  const c = await RawH2.connect(srv.url);
  try {
    c.send(unary(1, '/etcdserverpb.KV/Range', rangeBody('x')));
    assert.is((await response(c, 1)).trailers['grpc-status'], '0', 'still serving');
  } finally {
    c.close();
  }
});

test('--h2-framing node: the same calls through node:http2 alone', async () => {
  const s = await startTestServer({ h2Framing: 'node' }, { memory: true });
  const c = await RawH2.connect(s.url);
  try {
    c.send(unary(1, '/etcdserverpb.KV/Put', putBody('n', b('1'))));
    assert.is((await response(c, 1)).trailers['grpc-status'], '0');
  } finally {
    c.close();
    await s.stop();
  }
});

test.run();
