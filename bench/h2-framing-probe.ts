/**
 * How much of a gRPC put is the HTTP/2 layer? A probe for the grpc-put row (bench/lib/bounds.ts),
 * not a server: etcd's KV.Put answered by the bare store (LevelDB, fsync per batch) over HTTP/2
 * framed by hand on a net.Socket (the lower bound), then by the real watchkv on its own HTTP/2
 * layer (src/api/h2/, the default), by watchkv with `--h2-framing node` (node:http2 + the direct
 * path, src/api/grpc/fast-unary.ts), then by etcd, each loaded by h2load (a C client, so the
 * client costs little) with the same request, one after the other.
 *
 *   node --import tsx bench/h2-framing-probe.ts            # 3 rounds of 60,000 puts each
 *   PROBE_ROUNDS=1 PROBE_PUTS=20000 PROBE_WARMUP=5000 node --import tsx bench/h2-framing-probe.ts
 *
 * The hand framing does only what this load needs: the preface, SETTINGS and their ACKs, PING,
 * request HEADERS decoded with hpack.js (dynamic table and Huffman included), DATA with the
 * connection's window given back in one WINDOW_UPDATE per tick, and each answer as pre-encoded
 * HEADERS, one DATA and trailers, all frames of a tick in one socket write. No flow control on
 * what it sends (h2load's windows are ample for 40-byte answers), no CONTINUATION, no RST_STREAM,
 * no other method: what a real framing layer would add is small next to what it leaves out of
 * Node's http2 (stream objects, header maps, nghttp2 callbacks) — but it is a lower bound.
 * Needs h2load (Debian nghttp2-client) and etcd (Debian etcd-server).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hpack from 'hpack.js';
import { LevelBackend } from '../src/backend/level-backend.ts';
import { openKvStore, type KvStore } from '../src/mvcc/kv-store.ts';
import { etcdBinary, freePort } from '../scripts/etcd-server.ts';
import { startEtcdServer, startWatchkv, type ServerHandle } from './lib/server-process.ts';

const rounds = Number(process.env.PROBE_ROUNDS ?? 3);
const puts = Number(process.env.PROBE_PUTS ?? 60_000);
/**
 * Unrecorded puts each server takes first. A fresh Node server runs its first tens of thousands
 * of calls before the JIT has settled: without this, watchkv measured 22-25k puts/s here on
 * 2026-12-03 against 33-37k once warm (etcd, compiled, 22-24k either way).
 */
const warmup = Number(process.env.PROBE_WARMUP ?? 20_000);
const root = mkdtempSync(join(tmpdir(), 'watchkv-h2probe-'));

/** A PutRequest (key, 256 B value) as one gRPC message, the body every h2load request sends. */
function putBody(): Buffer {
  const key = Buffer.from('/bench/probe');
  const value = Buffer.alloc(256, 'v');
  const msg = Buffer.concat([Buffer.from([0x0a, key.length]), key, Buffer.from([0x12, 0x80, 0x02]), value]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(msg.length, 1);
  return Buffer.concat([prefix, msg]);
}

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 127; n = Math.floor(n / 128)) out.push((n % 128) | 128);
  out.push(n);
  return out;
}

/** key (field 1) and value (field 2) of a PutRequest; both are short-length-prefixed here. */
function decodePut(b: Buffer): { key: Buffer; value: Buffer } {
  const fields = new Map<number, Buffer>();
  for (let o = 0; o < b.length; ) {
    const tag = b[o++]!;
    let len = 0;
    for (let shift = 1; ; shift *= 128) {
      const c = b[o++]!;
      len += (c & 127) * shift;
      if (c < 128) break;
    }
    fields.set(tag >> 3, Buffer.from(b.subarray(o, o + len)));
    o += len;
  }
  return { key: fields.get(1)!, value: fields.get(2) ?? Buffer.alloc(0) };
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const f = Buffer.allocUnsafe(9 + payload.length);
  f.writeUIntBE(payload.length, 0, 3);
  f[3] = type;
  f[4] = flags;
  f.writeUInt32BE(stream, 5);
  payload.copy(f, 9);
  return f;
}

// `:status: 200` (static index 8) and content-type as a literal, not indexed; trailers likewise.
const RESPONSE_HEADERS = Buffer.concat([Buffer.from([0x88, 0x0f, 0x10, 16]), Buffer.from('application/grpc')]);
const TRAILERS = Buffer.concat([Buffer.from([0x00, 11]), Buffer.from('grpc-status'), Buffer.from([1]), Buffer.from('0')]);

function handFramedServer(store: KvStore): net.Server {
  return net.createServer((sock) => {
    sock.setNoDelay(true);
    const decoder = hpack.decompressor.create({ table: { maxSize: 4096 } });
    const bodies = new Map<number, Buffer[]>();
    let pending: Buffer = Buffer.alloc(0);
    let prefaceLeft = 24;
    let out: Buffer[] = [];
    let consumed = 0;
    let flushQueued = false;
    const flush = (): void => {
      flushQueued = false;
      if (consumed > 0) {
        const w = Buffer.alloc(4);
        w.writeUInt32BE(consumed);
        out.push(frame(8, 0, 0, w));
        consumed = 0;
      }
      if (out.length > 0) sock.write(Buffer.concat(out));
      out = [];
    };
    const send = (f: Buffer): void => {
      out.push(f);
      if (!flushQueued) {
        flushQueued = true;
        setImmediate(flush);
      }
    };
    const answer = (stream: number): void => {
      const body = Buffer.concat(bodies.get(stream) ?? []);
      bodies.delete(stream);
      void store.put(decodePut(body.subarray(5))).then((r) => {
        const header = Buffer.from([0x08, ...varint(1), 0x10, ...varint(2), 0x18, ...varint(r.revision), 0x20, 2]);
        const msg = Buffer.from([0x0a, header.length, ...header]);
        const data = Buffer.alloc(5 + msg.length);
        data.writeUInt32BE(msg.length, 1);
        msg.copy(data, 5);
        send(frame(1, 4, stream, RESPONSE_HEADERS));
        send(frame(0, 0, stream, data));
        send(frame(1, 5, stream, TRAILERS));
      });
    };
    send(frame(4, 0, 0, Buffer.from([0, 4, 0x7f, 0xff, 0xff, 0xff]))); // a large stream window
    sock.on('error', () => {});
    sock.on('data', (chunk: Buffer) => {
      pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      let o = Math.min(prefaceLeft, pending.length);
      prefaceLeft -= o;
      while (pending.length - o >= 9) {
        const len = pending.readUIntBE(o, 3);
        if (pending.length - o < 9 + len) break;
        const [type, flags, stream] = [pending[o + 3]!, pending[o + 4]!, pending.readUInt32BE(o + 5) & 0x7fffffff];
        const payload = pending.subarray(o + 9, o + 9 + len);
        o += 9 + len;
        if (type === 4 && !(flags & 1)) send(frame(4, 1, 0, Buffer.alloc(0)));
        else if (type === 6 && !(flags & 1)) send(frame(6, 1, 0, Buffer.from(payload)));
        else if (type === 1) {
          decoder.write(flags & 0x20 ? payload.subarray(5) : payload); // skip a priority block
          decoder.execute();
          while (decoder.read()) {
            // headers decoded (and the dynamic table kept) as a real server must; h2load sends only puts
          }
          bodies.set(stream, []);
          if (flags & 1) answer(stream);
        } else if (type === 0) {
          bodies.get(stream)?.push(Buffer.from(payload));
          consumed += len;
          if (flags & 1) answer(stream);
        }
      }
      pending = pending.subarray(o);
    });
  });
}

/** Not spawnSync: the hand-framed server answers from this process's event loop. */
async function h2load(port: number, body: string, n = puts): Promise<string> {
  const p = spawn('h2load', ['-c5', '-m10', '-n', String(n), '-d', body, '-H', 'content-type: application/grpc', `http://127.0.0.1:${port}/etcdserverpb.KV/Put`]);
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  await new Promise((r) => p.on('close', r));
  const rate = /finished in [^,]+, ([\d.]+) req\/s/.exec(out)?.[1];
  const failed = /(\d+) failed/.exec(out)?.[1];
  if (!rate || failed !== '0') throw new Error(`h2load: ${out}`);
  return `${Math.round(Number(rate)).toLocaleString('en-US')} puts/s`;
}

/** h2load against a server the bench starts as compare.ts does (watchkv from dist/, etcd 3.4). */
async function loadServer(start: () => Promise<ServerHandle>, body: string): Promise<string> {
  const server = await start();
  try {
    const port = Number(new URL(server.url).port);
    if (warmup > 0) await h2load(port, body, warmup);
    return await h2load(port, body);
  } finally {
    await server.stop();
  }
}

if (spawnSync('h2load', ['--version']).status !== 0 || !etcdBinary()) throw new Error('needs h2load (nghttp2-client) and etcd (etcd-server)');
const bodyFile = join(root, 'put.bin');
writeFileSync(bodyFile, putBody());
console.log(`KV.Put, 256 B values, h2load 5 connections x 10 in flight, ${puts.toLocaleString('en-US')} puts per run after ${warmup.toLocaleString('en-US')} unrecorded`);
try {
  for (let round = 1; round <= rounds; round++) {
    const dir = mkdtempSync(join(root, 'hand-'));
    const store = await openKvStore(new LevelBackend(dir));
    const server = handFramedServer(store);
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    if (warmup > 0) await h2load(port, bodyFile, warmup);
    const hand = await h2load(port, bodyFile);
    await new Promise((r) => server.close(r));
    await store.close();

    const watchkv = await loadServer(startWatchkv, bodyFile);
    const nodeFramed = await loadServer(() => startWatchkv({ watchkvFlags: ['--h2-framing', 'node'] }), bodyFile);
    const etcdRate = await loadServer(startEtcdServer, bodyFile);
    console.log(`  round ${round}: hand-framed + store ${hand} | watchkv ${watchkv} | watchkv --h2-framing node ${nodeFramed} | etcd ${etcdRate}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
