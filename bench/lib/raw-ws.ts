/**
 * A minimal WebSocket client (RFC 6455) for the benchmark harness: the handshake over node:http,
 * then frames parsed straight off the TCP socket and handed over as one Buffer per message.
 *
 * Why not the `ws` package: at a few hundred thousand small messages a second its receiver (a
 * stream with per-frame state, events and buffers) cost the harness more CPU than the server
 * spent producing them, so on a 2-core box the client, not the server, set the figure. This one
 * does per message what the protocol requires and nothing else. It is used for both servers.
 *
 * Handles: text/binary messages, continuation frames (etcd's gateway splits large messages),
 * ping (answered with pong), close (answered, then the socket ends). Client frames are masked.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface RawWsHandlers {
  /** One whole message (text or binary). The buffer is only valid during the call. */
  message(data: Buffer): void;
  close(code: number): void;
  error(err: Error): void;
}

export class RawWs {
  private buf: Buffer = Buffer.alloc(0);
  /** chunks waiting until `need` bytes are there, so a large frame is concatenated once */
  private parts: Buffer[] = [];
  private partBytes = 0;
  private need = 0;
  private fragments: Buffer[] = [];
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly on: RawWsHandlers,
    head: Buffer,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => on.error(e));
    socket.on('close', () => this.finish(1006));
    if (head.length > 0) this.onData(head);
  }

  /** `headers`: extra upgrade request headers (e.g. Authorization for a server with auth on). */
  static connect(url: string, handlers: RawWsHandlers, headers: Record<string, string> = {}): Promise<RawWs> {
    const u = new URL(url);
    const key = randomBytes(16).toString('base64');
    return new Promise((resolve, reject) => {
      const req = request({
        host: u.hostname,
        port: Number(u.port || 80),
        path: u.pathname + u.search,
        agent: false,
        headers: { ...headers, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' },
      });
      req.on('upgrade', (res, socket, head) => {
        const accept = createHash('sha1').update(key + GUID).digest('base64');
        if (res.headers['sec-websocket-accept'] !== accept) {
          socket.destroy();
          reject(new Error('WebSocket handshake: bad Sec-WebSocket-Accept'));
          return;
        }
        resolve(new RawWs(socket, handlers, head));
      });
      req.on('response', (res) => {
        res.resume();
        reject(new Error(`WebSocket handshake refused: HTTP ${res.statusCode}`));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Sends one text message (masked, as a client must). */
  send(text: string): void {
    this.writeFrame(0x1, Buffer.from(text, 'utf8'));
  }

  /** Sends a close frame; the server answers with its own and closes the connection. */
  close(code = 1000): void {
    if (this.closed) return;
    const p = Buffer.allocUnsafe(2);
    p.writeUInt16BE(code, 0);
    this.writeFrame(0x8, p);
  }

  terminate(): void {
    this.socket.destroy();
  }

  private writeFrame(opcode: number, payload: Buffer): void {
    if (this.socket.destroyed) return;
    const n = payload.length;
    const hl = n < 126 ? 2 : n < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(hl + 4 + n);
    frame[0] = 0x80 | opcode;
    if (n < 126) frame[1] = 0x80 | n;
    else if (n < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(n, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
      frame.writeUInt32BE(n >>> 0, 6);
    }
    const mask = randomBytes(4);
    mask.copy(frame, hl);
    for (let i = 0; i < n; i++) frame[hl + 4 + i] = payload[i]! ^ mask[i & 3]!;
    this.socket.write(frame);
  }

  private onData(chunk: Buffer): void {
    if (this.need > 0) {
      this.parts.push(chunk);
      this.partBytes += chunk.length;
      if (this.partBytes < this.need) return;
      this.buf = Buffer.concat([this.buf, ...this.parts]);
      this.parts = [];
      this.partBytes = 0;
      this.need = 0;
    } else {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    }
    const buf = this.buf;
    let off = 0;
    while (!this.closed) {
      const left = buf.length - off;
      if (left < 2) break;
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      if (b1 & 0x80) return this.fail(new Error('server frame is masked'));
      let len = b1 & 0x7f;
      let hl = 2;
      if (len === 126) {
        hl = 4;
        if (left < hl) break;
        len = buf.readUInt16BE(off + 2);
      } else if (len === 127) {
        hl = 10;
        if (left < hl) break;
        len = buf.readUInt32BE(off + 2) * 2 ** 32 + buf.readUInt32BE(off + 6);
      }
      if (left < hl + len) {
        this.need = hl + len - left;
        break;
      }
      this.frame(b0 & 0x80, b0 & 0x0f, buf.subarray(off + hl, off + hl + len));
      off += hl + len;
    }
    this.buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
  }

  private frame(fin: number, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case 0x0: // continuation
        this.fragments.push(Buffer.from(payload));
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = [];
          this.on.message(whole);
        }
        return;
      case 0x1:
      case 0x2:
        if (fin) this.on.message(payload);
        else this.fragments = [Buffer.from(payload)];
        return;
      case 0x8: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.close(code === 1005 ? 1000 : code);
        this.socket.end();
        this.finish(code);
        return;
      }
      case 0x9:
        this.writeFrame(0xa, payload);
        return;
      case 0xa:
        return;
      default:
        this.fail(new Error(`unknown opcode ${opcode}`));
    }
  }

  private fail(err: Error): void {
    this.on.error(err);
    this.socket.destroy();
    this.finish(1002);
  }

  private finish(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.on.close(code);
  }
}
