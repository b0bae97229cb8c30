/**
 * An HTTP/2 client that works frame by frame on a plain socket, for tests that look at what a
 * server puts on the wire (flow control, resets, GOAWAY) rather than at what a library makes
 * of it. Request headers go out as HPACK literals; response header blocks are decoded with
 * hpack.js's own decompressor (not the server's code).
 */
import net from 'node:net';
import hpack from 'hpack.js';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

function lit(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  if (b.length >= 127) throw new Error('test header too long');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

/** A header block of literals without indexing. */
export function headerBlock(fields: Array<[string, string]>): Buffer {
  return Buffer.concat(fields.flatMap(([n, v]) => [Buffer.from([0]), lit(n), lit(v)]));
}

export function grpcRequestHeaders(path: string): Array<[string, string]> {
  return [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', '127.0.0.1'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ];
}

/** A length-prefixed gRPC message. */
export function grpcMessage(body: Buffer): Buffer {
  const p = Buffer.alloc(5);
  p.writeUInt32BE(body.length, 1);
  return Buffer.concat([p, body]);
}

/** A protobuf message of length-delimited fields (field number → bytes), enough for KV requests. */
export function pbBytes(fields: Array<[number, Buffer]>): Buffer {
  return Buffer.concat(
    fields.map(([n, v]) => {
      const len: number[] = [];
      let x = v.length;
      for (; x > 127; x = Math.floor(x / 128)) len.push((x % 128) | 128);
      len.push(x);
      return Buffer.concat([Buffer.from([(n << 3) | 2, ...len]), v]);
    }),
  );
}

export class RawH2 {
  readonly frames: Frame[] = [];
  private buf = Buffer.alloc(0);
  private readonly decoder = hpack.decompressor.create({ table: { maxSize: 4096 } });
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + len) break;
        this.frames.push({ type: this.buf[3]!, flags: this.buf[4]!, stream: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) });
        this.buf = this.buf.subarray(9 + len);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  /** Connects, sends the preface and `settings` ([id, value] pairs), and acknowledges the server's. */
  static async connect(url: string, settings: Array<[number, number]> = []): Promise<RawH2> {
    const u = new URL(url);
    const socket = net.connect(Number(u.port), u.hostname);
    await new Promise((r) => socket.once('connect', r));
    const c = new RawH2(socket);
    const p = Buffer.alloc(6 * settings.length);
    settings.forEach(([id, v], i) => {
      p.writeUInt16BE(id, 6 * i);
      p.writeUInt32BE(v, 6 * i + 2);
    });
    socket.write(Buffer.concat([PREFACE, frame(4, 0, 0, p)]));
    await c.next((f) => f.type === 4 && f.flags === 0);
    c.send(frame(4, 1, 0));
    return c;
  }

  send(...bufs: Buffer[]): void {
    this.socket.write(Buffer.concat(bufs));
  }

  /** The first frame (seen so far or arriving within `ms`) matching `pred`. */
  async next(pred: (f: Frame) => boolean, ms = 5_000): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      if (Date.now() > deadline) throw new Error(`no such frame within ${ms} ms; got ${this.frames.map((x) => `${x.type}/${x.flags}/${x.stream}`).join(' ')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Frames received on a stream, in order. */
  on(stream: number): Frame[] {
    return this.frames.filter((f) => f.stream === stream);
  }

  /** Decodes a header block (HEADERS, in arrival order: the HPACK state is the connection's). */
  decode(block: Buffer): Record<string, string> {
    this.decoder.write(block);
    this.decoder.execute();
    const out: Record<string, string> = {};
    for (let h = this.decoder.read(); h; h = this.decoder.read()) out[h.name] = h.value;
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}
