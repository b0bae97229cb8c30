/**
 * The first request of an HTTP/2 connection: its `:authority` mended so Node's HTTP/2 layer
 * takes etcdctl's `http://host:port` (h2-authority.ts), and the connection held in JavaScript
 * only until that request (h2-first-request.ts). HPACK blocks are built and read back with
 * hpack.js, an encoder and decoder independent of ours; the hold is driven over real sockets.
 * etcdctl itself goes through here in test/api/grpc/etcdctl-diff.test.ts.
 */
import net from 'node:net';
import http2 from 'node:http2';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import hpackJs from 'hpack.js';
import { mendAuthority } from '../../src/api/h2-authority.ts';
import { holdFirstRequest, mendHeadersFrame } from '../../src/api/h2-first-request.ts';
import { startTestServer } from '../support/test-server.ts';
import { grpcFrame } from './grpc/grpc-client.ts';

type Header = { name: string; value: string };
// hpack.js's compressor and decompressor are streams; these typings cover what the test uses.
const hp = hpackJs as unknown as {
  compressor: { create(o: { table: { size: number } }): { write(h: Array<Header & { huffman?: boolean }>): void; read(): Buffer } };
  decompressor: { create(o: { table: { size: number } }): { write(b: Buffer): void; execute(): void; read(): Header | null } };
};

const request = (authority: string): Header[] => [
  { name: ':method', value: 'POST' },
  { name: ':scheme', value: 'http' },
  { name: ':path', value: '/etcdserverpb.Maintenance/Status' },
  { name: ':authority', value: authority },
  { name: 'content-type', value: 'application/grpc' },
  { name: 'te', value: 'trailers' },
];

function decodeAll(d: ReturnType<typeof hp.decompressor.create>, block: Buffer): Header[] {
  d.write(block);
  d.execute();
  const out: Header[] = [];
  for (let h = d.read(); h; h = d.read()) out.push({ name: h.name, value: h.value });
  return out;
}

test('mendAuthority: a scheme in :authority becomes "_" at the same length; the dynamic table stays in step', () => {
  for (const huffman of [true, false]) {
    const enc = hp.compressor.create({ table: { size: 4096 } });
    const dec = hp.decompressor.create({ table: { size: 4096 } });
    enc.write(request('http://127.0.0.1:2379').map((h) => ({ ...h, huffman })));
    const first = mendAuthority(enc.read());
    assert.ok(first, `huffman ${huffman}: mended`);
    assert.equal(decodeAll(dec, first), request('http:__127.0.0.1:2379'));
    // The next request refers to the indexed entries; decoded through the same table it still matches.
    enc.write(request('http://127.0.0.1:2379').map((h) => ({ ...h, huffman })));
    const second = enc.read();
    assert.is(mendAuthority(second), undefined, 'an indexed :authority needs nothing');
    assert.equal(decodeAll(dec, second), request('http:__127.0.0.1:2379'));
  }
  const ok = hp.compressor.create({ table: { size: 4096 } });
  ok.write(request('127.0.0.1:2379'));
  assert.is(mendAuthority(ok.read()), undefined, 'a valid authority is left alone');
  // A literal name (not the static index) is recognised too.
  const name = Buffer.from(':authority');
  const value = Buffer.from('https://h:1');
  const literal = Buffer.concat([Buffer.from([0x40, name.length]), name, Buffer.from([value.length]), value]);
  assert.equal(decodeAll(hp.decompressor.create({ table: { size: 4096 } }), mendAuthority(literal)!), [{ name: ':authority', value: 'https:__h:1' }]);
  // Malformed blocks are not ours to judge.
  assert.is(mendAuthority(Buffer.from([0x41, 0x90, 0x01])), undefined);
  assert.is(mendAuthority(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), undefined);
});

test('mendHeadersFrame: padding and priority fields are handled; a block continued elsewhere is left alone', () => {
  const enc = hp.compressor.create({ table: { size: 4096 } });
  enc.write(request('http://x:1'));
  const block = enc.read();
  const frame = (flags: number, pre: Buffer, post: Buffer): Buffer => {
    const payload = Buffer.concat([pre, block, post]);
    const h = Buffer.from([0, 0, 0, 0x1, flags, 0, 0, 0, 1]);
    h.writeUIntBE(payload.length, 0, 3);
    return Buffer.concat([h, payload]);
  };
  const priority = Buffer.from([0, 0, 0, 0, 16]);
  const padded = frame(0x4 | 0x8 | 0x20, Buffer.concat([Buffer.from([3]), priority]), Buffer.alloc(3));
  const mended = mendHeadersFrame(padded)!;
  assert.is(mended[4], 0x4 | 0x20, 'PADDED dropped, PRIORITY kept');
  assert.is(mended.readUIntBE(0, 3), mended.length - 9);
  assert.equal(mended.subarray(9, 14), priority);
  assert.equal(decodeAll(hp.decompressor.create({ table: { size: 4096 } }), mended.subarray(14)), request('http:__x:1'));
  assert.is(mendHeadersFrame(frame(0x0, Buffer.alloc(0), Buffer.alloc(0))), undefined, 'no END_HEADERS');
});

/** A connected pair: `client` writes, `server` is held by holdFirstRequest. */
async function pair(): Promise<{ client: net.Socket; server: net.Socket; close(): void }> {
  let server!: net.Socket;
  const srv = net.createServer((s) => (server = s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const client = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  while (!server) await new Promise((r) => setTimeout(r, 5));
  server.pause();
  return { client, server, close: () => (client.destroy(), server.destroy(), srv.close()) };
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const SETTINGS = Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
const SETTINGS_ACK = Buffer.from([0, 0, 0, 0x4, 0x1, 0, 0, 0, 0]);
const PING = Buffer.from([0, 0, 8, 0x6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);

function handedOver(server: net.Socket, o = { timeoutMs: 2000, quietMs: 100 }): Promise<Buffer> {
  return new Promise((resolve) => holdFirstRequest(server, Buffer.alloc(0), o, (s) => resolve(s.read() ?? Buffer.alloc(0))));
}

test('hold: grpc-go order (wait for our SETTINGS, then ACK + HEADERS): handed over at once, ACK taken out, HEADERS mended', async () => {
  const p = await pair();
  try {
    const got = handedOver(p.server);
    p.client.write(Buffer.concat([PREFACE, SETTINGS]));
    const fromServer = await new Promise<Buffer>((r) => p.client.once('data', r));
    assert.equal(fromServer, SETTINGS, 'an empty SETTINGS frame, at once');
    const enc = hp.compressor.create({ table: { size: 4096 } });
    enc.write(request('http://127.0.0.1:2379'));
    const block = enc.read();
    const headers = Buffer.concat([Buffer.from([0, 0, block.length, 0x1, 0x4, 0, 0, 0, 1]), block]);
    p.client.write(SETTINGS_ACK);
    p.client.write(headers);
    const bytes = await got;
    assert.equal(bytes.subarray(0, PREFACE.length + 9), Buffer.concat([PREFACE, SETTINGS]));
    assert.equal(bytes.subarray(PREFACE.length + 9), mendHeadersFrame(headers));
  } finally {
    p.close();
  }
});

test('hold: a client that acknowledges and then stays quiet is handed over after quietMs, its other frames kept', async () => {
  const p = await pair();
  try {
    const got = handedOver(p.server);
    p.client.write(Buffer.concat([PREFACE, SETTINGS, SETTINGS_ACK, PING]));
    assert.equal(await got, Buffer.concat([PREFACE, SETTINGS, PING]));
  } finally {
    p.close();
  }
});

test('hold: no ACK within timeoutMs drops the connection; bytes that are not HTTP/2 go on untouched', async () => {
  let p = await pair();
  try {
    let handed = false;
    holdFirstRequest(p.server, Buffer.alloc(0), { timeoutMs: 150, quietMs: 50 }, () => (handed = true));
    p.client.write(Buffer.concat([PREFACE, SETTINGS]));
    p.client.resume(); // read our SETTINGS, so the end of the stream is seen
    await new Promise((r) => p.client.once('close', r));
    assert.not.ok(handed);
  } finally {
    p.close();
  }
  p = await pair();
  try {
    const got = handedOver(p.server);
    const junk = Buffer.from('PRI * HTTP/9.9 not a preface at all');
    p.client.write(junk);
    assert.equal(await got, junk);
  } finally {
    p.close();
  }
});

test('a Node HTTP/2 client that connects, idles past quietMs, then calls: answered', async () => {
  const s = await startTestServer({}, { memory: true });
  const session = http2.connect(s.url);
  try {
    await new Promise((r) => setTimeout(r, 400));
    const req = session.request({ ':method': 'POST', ':path': '/etcdserverpb.Maintenance/Status', 'content-type': 'application/grpc', te: 'trailers' });
    req.end(grpcFrame(Buffer.alloc(0)));
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      req.on('trailers', resolve);
      req.on('error', reject);
      req.resume();
    });
    assert.is(trailers['grpc-status'], '0');
  } finally {
    session.close();
    await s.stop();
  }
});

test.run();
