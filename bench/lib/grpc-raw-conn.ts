/**
 * gRPC over HTTP/2 framed by hand on a TCP socket: the harness's leanest client, the same for both
 * servers. Unary calls (the put and range rows, the fan-out writer) and bidi streams (the fan-out
 * watchers).
 *
 * Why: node:http2's client spends ~75-85 us of CPU a unary call (stream objects, header maps,
 * events) and grpc-js's more, more than either server spends answering; on 2 shared cores the
 * client then set the pace for both servers. Here a call is a cached header block and one DATA
 * frame out; in, a frame parser, the connection's HPACK state (etcd's Go server indexes its
 * response headers, so every block is decoded, in order) and the trailers' grpc-status.
 *
 * What it does of HTTP/2: preface and SETTINGS (acked both ways), PING acks, GOAWAY and
 * RST_STREAM fail what they cover, flow control both ways (a 4 MiB receive window per stream and
 * for the connection, given back as it is consumed; the server's connection window honoured,
 * sends queued until they fit). Writes of one tick go out as one corked batch.
 */
import net from 'node:net';
import { F_ACK, F_END_HEADERS, F_END_STREAM, F_PADDED, F_PRIORITY, FRAME_HEADER_BYTES, PREFACE, S_ENABLE_PUSH, S_INITIAL_WINDOW_SIZE, T_CONTINUATION, T_DATA, T_GOAWAY, T_HEADERS, T_PING, T_RST_STREAM, T_SETTINGS, T_WINDOW_UPDATE } from '../../src/api/h2/frames.ts';
import { E, encodeHeaderBlock, frame, frameHeader, rstStreamFrame, settingsFrame, unpad, windowUpdateFrame } from '../../src/api/h2/frames.ts';
import { HpackDecoder } from '../../src/api/h2/hpack-decoder.ts';

/** bytes: the receive window we advertise, per stream and for the connection */
const RECV_WINDOW = 4 << 20;
/** bytes received on a stream or the connection before they are given back in one WINDOW_UPDATE */
const GIVE_BACK_BYTES = 1 << 20;
/** bytes: a peer's windows before its SETTINGS and WINDOW_UPDATEs say otherwise (RFC 9113 §6.9.2) */
const DEFAULT_WINDOW = 65_535;
const MAX_HEADER_LIST = 1 << 20;
const EMPTY = Buffer.alloc(0);

/** One open stream's receiving side. */
interface Stream {
  /** DATA payload bytes, in order */
  data(body: Buffer): void;
  /** the stream is over: grpc-status and message from its trailers, or why it broke */
  end(status: string | undefined, message: string, err?: Error): void;
  status?: string;
  message: string;
  unacked: number;
}

export interface BidiHandlers {
  /** each response message, whole (a view into the received bytes: copy what outlives the call) */
  onMessage(m: Buffer): void;
  /** the stream ended; `err` unless the server closed it with grpc-status 0 */
  onEnd(err?: Error): void;
}

export interface BidiStream {
  write(message: Buffer): void;
  /** resets the stream (CANCEL) */
  cancel(): void;
}

/** A message with gRPC's 5-byte prefix (uncompressed). */
function prefixed(message: Buffer, flags: number, streamId: number): Buffer {
  const data = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 5 + message.length);
  frameHeader(5 + message.length, T_DATA, flags, streamId).copy(data, 0);
  data[FRAME_HEADER_BYTES] = 0;
  data.writeUInt32BE(message.length, FRAME_HEADER_BYTES + 1);
  message.copy(data, FRAME_HEADER_BYTES + 5);
  return data;
}

/**
 * Cuts a stream's DATA bytes into gRPC messages. Whole messages inside a piece are passed as views
 * without a copy; a message split over pieces is joined once, when its last piece arrives (joining
 * at every piece made a 1 MB response spread over 64 frames cost 64 copies).
 */
class MessageReader {
  private parts: Buffer[] = [];
  private partBytes = 0;

  constructor(private readonly onMessage: (m: Buffer) => void) {}

  push(piece: Buffer): void {
    let b = piece;
    if (this.parts.length > 0) {
      this.parts.push(piece);
      this.partBytes += piece.length;
      const head = this.parts[0]!.length >= 5 ? this.parts[0]! : Buffer.concat(this.parts);
      if (head.length < 5 || this.partBytes < 5 + head.readUInt32BE(1)) return;
      b = Buffer.concat(this.parts);
      this.parts = [];
      this.partBytes = 0;
    }
    let off = 0;
    while (b.length - off >= 5) {
      const len = b.readUInt32BE(off + 1);
      if (b.length - off - 5 < len) break;
      this.onMessage(b.subarray(off + 5, off + 5 + len));
      off += 5 + len;
    }
    if (off < b.length) {
      // The rest is kept by reference: the socket's read buffers are not reused by Node.
      this.parts.push(b.subarray(off));
      this.partBytes = b.length - off;
    }
  }
}

export class GrpcRawConn {
  private readonly socket: net.Socket;
  private readonly hpack = new HpackDecoder();
  private readonly blocks = new Map<string, Buffer>();
  private readonly streams = new Map<number, Stream>();
  /** frames waiting for the server's connection window, in order */
  private readonly waiting: Array<{ bytes: number; frames: Buffer[] }> = [];
  private readonly authority: string;
  private nextId = 1;
  private pending = EMPTY;
  private sendWindow = DEFAULT_WINDOW;
  private unacked = 0;
  private corked = false;
  private failed: Error | undefined;
  private header: { id: number; endStream: boolean; parts: Buffer[] } | undefined;
  /** the DATA frame whose payload is still arriving */
  private data: { id: number; flags: number; len: number; left: number; stream: Stream | undefined } | undefined;

  constructor(url: string) {
    const u = new URL(url);
    this.authority = u.host;
    this.socket = net.connect({ host: u.hostname, port: Number(u.port), noDelay: true });
    this.socket.on('data', (b: Buffer) => this.onData(b));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
    this.write(PREFACE);
    this.write(settingsFrame([[S_ENABLE_PUSH, 0], [S_INITIAL_WINDOW_SIZE, RECV_WINDOW]]));
    this.write(windowUpdateFrame(0, RECV_WINDOW - DEFAULT_WINDOW));
  }

  /** One call: the encoded request in, the encoded response out; a non-zero grpc-status rejects. */
  unary(path: string, request: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      const chunks: Buffer[] = [];
      const id = this.open(path, {
        data: (b) => chunks.push(b),
        end(status, message, err) {
          if (err) return reject(err);
          if (status !== '0') return reject(new Error(`grpc-status ${status}: ${decodeURIComponent(message)}`));
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          resolve(body.subarray(5));
        },
        message: '',
        unacked: 0,
      });
      this.send([prefixed(request, F_END_STREAM, id)], 5 + request.length);
    });
  }

  /** A bidi stream (Watch.Watch): write encoded requests, read encoded responses. */
  bidi(path: string, h: BidiHandlers): BidiStream {
    if (this.failed) throw this.failed;
    const reader = new MessageReader(h.onMessage);
    const id = this.open(path, {
      data: (b) => reader.push(b),
      end(status, message, err) {
        h.onEnd(err ?? (status === '0' ? undefined : new Error(`grpc-status ${status}: ${decodeURIComponent(message)}`)));
      },
      message: '',
      unacked: 0,
    });
    return {
      write: (m) => this.send([prefixed(m, 0, id)], 5 + m.length),
      cancel: () => {
        const s = this.streams.get(id);
        if (!s) return;
        this.streams.delete(id);
        this.write(rstStreamFrame(id, E.CANCEL));
        s.end(undefined, '', new Error('canceled'));
      },
    };
  }

  close(): void {
    this.failed ??= new Error('closed');
    this.socket.end();
  }

  /** Opens a stream: its request headers go out now (HEADERS use no flow-control window). */
  private open(path: string, s: Stream): number {
    const id = this.nextId;
    this.nextId += 2;
    this.streams.set(id, s);
    let block = this.blocks.get(path);
    if (!block) {
      block = encodeHeaderBlock([[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', this.authority], ['content-type', 'application/grpc'], ['te', 'trailers']]);
      this.blocks.set(path, block);
    }
    this.write(frameHeader(block.length, T_HEADERS, F_END_HEADERS, id));
    this.write(block);
    return id;
  }

  /** DATA frames of `bytes` flow-controlled bytes: now if the window has room and nothing waits. */
  private send(frames: Buffer[], bytes: number): void {
    if (this.waiting.length > 0 || bytes > this.sendWindow) {
      this.waiting.push({ bytes, frames });
      return;
    }
    this.sendWindow -= bytes;
    for (const f of frames) this.write(f);
  }

  private write(b: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(b);
  }

  /**
   * Socket bytes in. DATA frames (unpadded) are passed to their stream piece by piece as the bytes
   * arrive, so a frame split over reads is never joined; other frames are parsed whole, and only
   * their partial bytes (and a split frame header) wait in `pending`.
   */
  private onData(chunk: Buffer): void {
    const b = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = EMPTY;
    let off = 0;
    while (off < b.length) {
      if (this.data) {
        const n = Math.min(this.data.left, b.length - off);
        this.data.stream?.data(b.subarray(off, off + n));
        off += n;
        this.data.left -= n;
        if (this.data.left === 0) this.endDataFrame();
        continue;
      }
      if (b.length - off < FRAME_HEADER_BYTES) break;
      const len = (b[off]! << 16) | (b[off + 1]! << 8) | b[off + 2]!;
      const type = b[off + 3]!;
      const flags = b[off + 4]!;
      const id = b.readUInt32BE(off + 5) & 0x7fffffff;
      if (type === T_DATA && !(flags & F_PADDED)) {
        off += FRAME_HEADER_BYTES;
        this.data = { id, flags, len, left: len, stream: this.streams.get(id) };
        if (len === 0) this.endDataFrame();
        continue;
      }
      if (b.length - off < FRAME_HEADER_BYTES + len) break;
      const payload = b.subarray(off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + len);
      off += FRAME_HEADER_BYTES + len;
      this.onFrame(type, flags, id, payload);
    }
    if (off < b.length) this.pending = Buffer.from(b.subarray(off));
  }

  /** The DATA frame in progress has been delivered whole: flow control, and its end of stream. */
  private endDataFrame(): void {
    const d = this.data!;
    this.data = undefined;
    this.received(d.id, d.len);
    if (d.flags & F_END_STREAM) this.finish(d.id);
  }

  /** `n` flow-controlled bytes consumed on stream `id`: given back once enough have gathered. */
  private received(id: number, n: number): void {
    this.unacked += n;
    if (this.unacked >= GIVE_BACK_BYTES) {
      this.write(windowUpdateFrame(0, this.unacked));
      this.unacked = 0;
    }
    const s = this.streams.get(id);
    if (!s) return;
    s.unacked += n;
    if (s.unacked >= GIVE_BACK_BYTES) {
      this.write(windowUpdateFrame(id, s.unacked));
      s.unacked = 0;
    }
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    switch (type) {
      case T_DATA:
        return this.onDataFrame(flags, id, payload);
      case T_HEADERS:
      case T_CONTINUATION:
        return this.onHeaderFrame(type, flags, id, payload);
      case T_RST_STREAM: {
        const s = this.streams.get(id);
        this.streams.delete(id);
        s?.end(undefined, '', new Error(`stream reset by the server, code ${payload.readUInt32BE(0)}`));
        return;
      }
      case T_SETTINGS:
        // The server's initial stream window does not matter here: every request message is
        // small and well inside a fresh stream's window, and the connection's is tracked.
        if (!(flags & F_ACK)) this.write(frame(T_SETTINGS, F_ACK, 0, Buffer.alloc(0)));
        return;
      case T_PING:
        if (!(flags & F_ACK)) this.write(frame(T_PING, F_ACK, 0, payload));
        return;
      case T_WINDOW_UPDATE:
        if (id === 0) {
          this.sendWindow += payload.readUInt32BE(0) & 0x7fffffff;
          while (this.waiting.length > 0 && this.waiting[0]!.bytes <= this.sendWindow) {
            const w = this.waiting.shift()!;
            this.sendWindow -= w.bytes;
            for (const f of w.frames) this.write(f);
          }
        }
        return;
      case T_GOAWAY:
        this.fail(new Error(`GOAWAY from the server, code ${payload.readUInt32BE(4)}`));
        return;
      default:
        return; // PRIORITY, unknown types: nothing for a client to do
    }
  }

  /** A padded DATA frame, parsed whole. */
  private onDataFrame(flags: number, id: number, payload: Buffer): void {
    const body = unpad(payload, flags);
    if (body && body.length) this.streams.get(id)?.data(body);
    this.received(id, payload.length);
    if (flags & F_END_STREAM) this.finish(id);
  }

  private onHeaderFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (type === T_HEADERS) {
      const stripped = unpad(payload, flags) ?? Buffer.alloc(0);
      this.header = { id, endStream: (flags & F_END_STREAM) !== 0, parts: [flags & F_PRIORITY ? stripped.subarray(5) : stripped] };
    } else this.header?.parts.push(payload);
    if (!(flags & F_END_HEADERS) || !this.header) return;
    const h = this.header;
    this.header = undefined;
    const { fields } = this.hpack.decode(h.parts.length === 1 ? h.parts[0]! : Buffer.concat(h.parts), MAX_HEADER_LIST);
    const s = this.streams.get(h.id);
    if (s) {
      for (const [name, value] of fields) {
        if (name === 'grpc-status') s.status = value;
        else if (name === 'grpc-message') s.message = value;
      }
    }
    if (h.endStream) this.finish(h.id);
  }

  private finish(id: number): void {
    const s = this.streams.get(id);
    if (!s) return;
    this.streams.delete(id);
    s.end(s.status, s.message);
  }

  private fail(err: Error): void {
    this.failed ??= err;
    this.waiting.length = 0;
    const open = [...this.streams.values()];
    this.streams.clear();
    for (const s of open) s.end(undefined, '', err);
    this.socket.destroy();
  }
}
