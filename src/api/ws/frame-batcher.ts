/**
 * Server-to-client WebSocket text frames for one connection, gathered over a tick and written to
 * the TCP socket in one write (a big batch as a gathered write of its pieces, see GATHER_MIN_BYTES).
 *
 * Why not ws's send(): one commit fans out to hundreds of watchers on a socket in the same tick,
 * and send() costs a header buffer, a frame object and two iovecs per message; profiles of the
 * fan-out benchmark had that and the writev syscalls as the largest cost. Server frames are
 * unmasked (RFC 6455 §5.1) and the server negotiates no extension (perMessageDeflate is off, see
 * app.ts), so a frame is just a 2-10 byte header and the payload. A payload arrives in pieces
 * (text, shared bytes, text): the text is copied into the batch, the shared bytes too unless the
 * batch is big enough to go gathered.
 *
 * ws still owns the connection: it reads, answers pings and writes the close frame. Frames are
 * whole when written, so its control frames fall between ours; nothing is written once the
 * socket is not open (after a close frame, data is a protocol error), and the owner flushes
 * before it closes.
 */

import { GATHER_MIN_BYTES } from '../../lib/gathered-write.ts';

export interface RawSocket {
  /** Is the WebSocket still open (no close frame sent or received)? */
  open(): boolean;
  write(chunk: Buffer): void;
  /** Writes the chunks, in order, as one gathered write (lib/gathered-write.ts). */
  writeGathered(chunks: Buffer[]): void;
}

/** bytes: a payload this big is written on its own rather than copied into the batch. */
const COPY_LIMIT = 16 * 1024;
/** bytes: a batch this big is written at once instead of waiting for the end of the tick. */
const BATCH_LIMIT = 256 * 1024;

interface Queued {
  head: string;
  /** UTF-8 length of head */
  headBytes: number;
  body: Buffer | null;
  tail: string;
  /** payload bytes */
  size: number;
}

export class FrameBatcher {
  private frames: Queued[] = [];
  private bytes = 0;
  /** of `bytes`, those in bodies (shared buffers, not copied by a gathered flush) */
  private bodyBytes = 0;
  private scheduled = false;

  constructor(private readonly socket: RawSocket) {}

  /** Bytes queued here and not yet handed to the socket (counts toward its high-water mark). */
  get pending(): number {
    return this.bytes;
  }

  /** Queues one text frame whose payload is head + body + tail (UTF-8; tail is ASCII). */
  push(head: string, body: Buffer | null, tail: string): void {
    const headBytes = Buffer.byteLength(head, 'utf8');
    const size = headBytes + (body ? body.length : 0) + tail.length;
    if (size > COPY_LIMIT) {
      this.flush();
      if (!this.socket.open()) return;
      const start = Buffer.allocUnsafe(headerLength(size) + headBytes);
      start.write(head, writeHeader(start, 0, size), 'utf8');
      this.socket.write(start);
      if (body) this.socket.write(body);
      if (tail) this.socket.write(Buffer.from(tail, 'latin1'));
      return;
    }
    this.frames.push({ head, headBytes, body, tail, size });
    this.bytes += size + headerLength(size);
    if (body) this.bodyBytes += body.length;
    if (this.bytes >= BATCH_LIMIT) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Writes what is queued now. */
  flush(): void {
    if (this.frames.length === 0) return;
    const frames = this.frames;
    const bytes = this.bytes;
    const bodyBytes = this.bodyBytes;
    this.frames = [];
    this.bytes = 0;
    this.bodyBytes = 0;
    if (!this.socket.open()) return;
    if (bytes >= GATHER_MIN_BYTES && bodyBytes > 0) return this.flushGathered(frames, Buffer.allocUnsafe(bytes - bodyBytes));
    const out = Buffer.allocUnsafe(bytes);
    let off = 0;
    for (const f of frames) {
      off = writeHeader(out, off, f.size);
      // ASCII heads (all but an odd cancel reason) take the plain byte copy.
      off += out.write(f.head, off, f.headBytes === f.head.length ? 'latin1' : 'utf8');
      if (f.body) off += f.body.copy(out, off);
      if (f.tail) off += out.write(f.tail, off, 'latin1');
    }
    this.socket.write(out);
  }

  /**
   * The frames as pieces: each frame's header, head and tail are written into `own` (exactly the
   * batch's bytes less its bodies), and each body goes by reference.
   */
  private flushGathered(frames: Queued[], own: Buffer): void {
    const chunks: Buffer[] = [];
    let start = 0;
    let off = 0;
    for (const f of frames) {
      off = writeHeader(own, off, f.size);
      off += own.write(f.head, off, f.headBytes === f.head.length ? 'latin1' : 'utf8');
      if (f.body && f.body.length > 0) {
        chunks.push(own.subarray(start, off), f.body);
        start = off;
      }
      if (f.tail) off += own.write(f.tail, off, 'latin1');
    }
    if (off > start) chunks.push(own.subarray(start, off));
    this.socket.writeGathered(chunks);
  }
}

function headerLength(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

/** FIN + opcode 1 (text), unmasked, with the 7-bit, 16-bit or 64-bit payload length. */
function writeHeader(buf: Buffer, off: number, n: number): number {
  buf[off] = 0x81;
  if (n < 126) {
    buf[off + 1] = n;
    return off + 2;
  }
  if (n < 65536) {
    buf[off + 1] = 126;
    buf.writeUInt16BE(n, off + 2);
    return off + 4;
  }
  buf[off + 1] = 127;
  buf.writeUInt32BE(Math.floor(n / 2 ** 32), off + 2);
  buf.writeUInt32BE(n >>> 0, off + 6);
  return off + 10;
}
