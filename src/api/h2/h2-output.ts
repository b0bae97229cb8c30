/**
 * What one HTTP/2 connection sends (h2-connection.ts): frames queued during a tick and written to
 * the socket once, at the end of it; the peer's flow-control windows and settings.
 *
 * Flow control out (RFC 9113 §6.9): DATA leaves only while both the connection's and the stream's
 * send windows allow; a stream that cannot go on waits in `blocked` until a WINDOW_UPDATE (or a
 * larger SETTINGS_INITIAL_WINDOW_SIZE) opens it again. The socket's own buffer counts too: above
 * SOCKET_HIGH_WATER_BYTES nothing more is framed until it drains, so a client that reads slowly
 * holds bytes in its streams' queues, where watch backpressure sees them, not in the kernel's.
 *
 * Write callbacks (the bytes were framed) run after the tick's write, never inside the write()
 * that queued them.
 */
import type net from 'node:net';
import type * as http2 from 'node:http2';
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_WINDOW_BYTES, E, F_ACK, F_END_HEADERS, F_END_STREAM, MAX_WINDOW, TABLE_SIZE_ZERO } from './frames.ts';
import { S_ENABLE_PUSH, S_HEADER_TABLE_SIZE, S_INITIAL_WINDOW_SIZE, S_MAX_FRAME_SIZE, T_CONTINUATION, T_DATA, T_HEADERS, T_PING, T_SETTINGS } from './frames.ts';
import { encodeHeaderBlock, frame, frameHeader, goawayFrame, headerFields, rstStreamFrame, settingsFrame, windowUpdateFrame } from './frames.ts';
import type { H2Stream } from './h2-stream.ts';
import { GATHER_MIN_BYTES, writeGathered } from '../../lib/gathered-write.ts';

const SOCKET_HIGH_WATER_BYTES = 1024 * 1024;
/** Header blocks kept by their header object's JSON (gRPC answers repeat a handful of them). */
const BLOCK_CACHE_ENTRIES = 256;
const blockCache = new Map<string, Buffer>();

function headerBlock(headers: http2.OutgoingHttpHeaders): Buffer {
  const key = JSON.stringify(headers);
  let block = blockCache.get(key);
  if (block === undefined) {
    block = encodeHeaderBlock(headerFields(headers as Record<string, string | number | string[] | undefined>));
    if (blockCache.size >= BLOCK_CACHE_ENTRIES) blockCache.clear();
    blockCache.set(key, block);
  }
  return block;
}

export class H2Output {
  /** What the peer lets us send on the connection. */
  private sendWindow = DEFAULT_WINDOW_BYTES;
  /** The peer's SETTINGS_INITIAL_WINDOW_SIZE: a new stream's send window. */
  initialStreamWindow = DEFAULT_WINDOW_BYTES;
  private maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  /** The next header block starts with a table size update (the peer changed its table size). */
  private sizeUpdate = true;
  private readonly blocked = new Set<H2Stream>();
  /** Streams written to this tick: framed together just before the write (see flush). */
  private readonly dirty = new Set<H2Stream>();
  private out: Buffer[] = [];
  private callbacks: Array<() => void> = [];
  private scheduled = false;
  private giveBackWanted = false;
  private socketFull = false;
  private ended = false;
  private ending = false;

  constructor(
    private readonly socket: net.Socket,
    /** Queues the tick's WINDOW_UPDATEs, just before the write. */
    private readonly giveBack: () => void,
    /** These streams may go on (written to this tick, or the socket drained): pump them. */
    private readonly resume: (streams: H2Stream[]) => void,
  ) {}

  /** Our SETTINGS, and the connection window opened to `windowBytes`. */
  start(windowBytes: number): void {
    this.push(settingsFrame([[S_INITIAL_WINDOW_SIZE, windowBytes]]));
    if (windowBytes > DEFAULT_WINDOW_BYTES) this.push(windowUpdateFrame(0, windowBytes - DEFAULT_WINDOW_BYTES));
  }

  headers(stream: H2Stream, headers: http2.OutgoingHttpHeaders, endStream: boolean): void {
    const fields = Object.keys(headers).length;
    if (fields === 0 && endStream) return this.endData(stream); // empty trailers: END_STREAM on DATA
    let block = headerBlock(headers);
    if (this.sizeUpdate) {
      this.sizeUpdate = false;
      block = Buffer.concat([TABLE_SIZE_ZERO, block]);
    }
    const endFlag = endStream ? F_END_STREAM : 0;
    if (block.length <= this.maxFrameBytes) {
      this.push(frameHeader(block.length, T_HEADERS, endFlag | F_END_HEADERS, stream.id), block);
      return;
    }
    for (let o = 0; o < block.length; o += this.maxFrameBytes) {
      const part = block.subarray(o, o + this.maxFrameBytes);
      const last = o + this.maxFrameBytes >= block.length ? F_END_HEADERS : 0;
      this.push(frameHeader(part.length, o === 0 ? T_HEADERS : T_CONTINUATION, (o === 0 ? endFlag : 0) | last, stream.id), part);
    }
  }

  /** Frames the stream's queued bytes as far as the windows allow; one DATA frame per allowance. */
  pump(s: H2Stream): void {
    if (this.ended) return;
    if (this.socketFull) {
      if (s.queue.length > 0) this.blocked.add(s);
      return;
    }
    while (s.queue.length > 0) {
      const allowance = Math.min(this.sendWindow, s.sendWindow, this.maxFrameBytes);
      if (allowance <= 0) {
        this.blocked.add(s);
        break;
      }
      const header = Buffer.allocUnsafe(0);
      const at = this.out.length;
      this.out.push(header); // replaced below once the length is known
      let n = 0;
      while (s.queue.length > 0 && n < allowance) {
        const q = s.queue[0]!;
        const take = Math.min(q.buf.length - q.offset, allowance - n);
        this.out.push(q.offset === 0 && take === q.buf.length ? q.buf : q.buf.subarray(q.offset, q.offset + take));
        q.offset += take;
        n += take;
        if (q.offset === q.buf.length) {
          s.queue.shift();
          if (q.cb) this.callbacks.push(q.cb);
        }
      }
      this.out[at] = frameHeader(n, T_DATA, 0, s.id);
      s.queuedBytes -= n;
      s.sendWindow -= n;
      this.sendWindow -= n;
    }
    if (s.queue.length === 0) this.blocked.delete(s);
    this.schedule();
    s.drained();
  }

  endData(s: H2Stream): void {
    this.push(frameHeader(0, T_DATA, F_END_STREAM, s.id));
  }

  rst(id: number, code: number): void {
    this.push(rstStreamFrame(id, code));
  }

  pingAck(payload: Buffer): void {
    this.push(frame(T_PING, F_ACK, 0, payload));
  }

  windowUpdate(id: number, increment: number): void {
    this.out.push(windowUpdateFrame(id, increment));
  }

  goaway(lastStreamId: number, code: number, debug = ''): void {
    this.push(goawayFrame(lastStreamId, code, debug));
  }

  /** The stream has queued bytes to frame before this tick's write. */
  markDirty(s: H2Stream): void {
    this.dirty.add(s);
    this.schedule();
  }

  /** Received DATA: its window goes back at the end of the tick. */
  wantGiveBack(): void {
    this.giveBackWanted = true;
    this.schedule();
  }

  growConnection(increment: number): boolean {
    if (this.sendWindow + increment > MAX_WINDOW) return false;
    this.sendWindow += increment;
    return true;
  }

  /** The streams waiting for window, to be pumped again (the set is emptied). */
  takeBlocked(): H2Stream[] {
    const all = [...this.blocked];
    this.blocked.clear();
    return all;
  }

  unblock(s: H2Stream): void {
    this.blocked.delete(s);
  }

  /** The peer's SETTINGS (validated, applied, acknowledged), or what is wrong with them. */
  applySettings(payload: Buffer, streams: Iterable<H2Stream>): { code: number; message: string } | undefined {
    for (let o = 0; o < payload.length; o += 6) {
      const id = payload.readUInt16BE(o);
      const value = payload.readUInt32BE(o + 2);
      if (id === S_HEADER_TABLE_SIZE) this.sizeUpdate = true;
      else if (id === S_ENABLE_PUSH && value > 1) return { code: E.PROTOCOL_ERROR, message: 'SETTINGS_ENABLE_PUSH above 1' };
      else if (id === S_INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) return { code: E.FLOW_CONTROL_ERROR, message: 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1' };
        const delta = value - this.initialStreamWindow;
        this.initialStreamWindow = value;
        for (const s of streams) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) return { code: E.FLOW_CONTROL_ERROR, message: 'a stream window above 2^31-1' };
          if (delta > 0 && s.queue.length > 0) this.blocked.add(s);
        }
      } else if (id === S_MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_BYTES || value > 2 ** 24 - 1) return { code: E.PROTOCOL_ERROR, message: 'SETTINGS_MAX_FRAME_SIZE out of range' };
        this.maxFrameBytes = value;
      }
    }
    this.push(frame(T_SETTINGS, F_ACK, 0, Buffer.alloc(0)));
    return undefined;
  }

  /** Writes what is queued now and half-closes the socket; nothing is sent after. */
  end(): void {
    // The last flush frames waiting streams, and a stream that ends there may ask to end the
    // connection again: that inner call is this one.
    if (this.ended || this.ending) return;
    this.ending = true;
    this.flush();
    this.ended = true;
    this.socket.end();
  }

  private push(...bufs: Buffer[]): void {
    if (this.ended) return;
    for (const b of bufs) this.out.push(b);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.ended) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.ended) {
      this.scheduled = false;
      return;
    }
    // Every write of the tick is framed now, so messages written one by one (a watch response is
    // two writes, and a tick often has many) share DATA frames instead of one frame each.
    if (this.dirty.size > 0) {
      const streams = [...this.dirty];
      this.dirty.clear();
      this.resume(streams);
    }
    this.scheduled = false;
    if (this.giveBackWanted) {
      this.giveBackWanted = false;
      this.giveBack();
    }
    const out = this.out;
    const callbacks = this.callbacks;
    this.out = [];
    this.callbacks = [];
    if (out.length > 0 && !this.socket.destroyed) {
      this.write(out);
      if (this.socket.writableLength > SOCKET_HIGH_WATER_BYTES && !this.socketFull) {
        this.socketFull = true;
        this.socket.once('drain', () => {
          this.socketFull = false;
          this.resume(this.takeBlocked());
        });
      }
    }
    for (const cb of callbacks) cb();
  }

  /**
   * One socket write for the tick. A small tick is joined into one buffer (one copy, cheap); a big
   * one, which a watch fan-out makes of many responses sharing their event bytes, goes down as a
   * gathered write, so the kernel copies straight from those shared buffers (measured: a quarter
   * more events delivered at saturation).
   */
  private write(out: Buffer[]): void {
    if (out.length === 1) {
      this.socket.write(out[0]!);
      return;
    }
    let bytes = 0;
    for (const b of out) bytes += b.length;
    if (bytes < GATHER_MIN_BYTES) {
      this.socket.write(Buffer.concat(out, bytes));
      return;
    }
    writeGathered(this.socket, out);
  }
}
