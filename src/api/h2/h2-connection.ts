/**
 * The server side of one HTTP/2 connection (RFC 9113), framed in JavaScript on the socket.
 *
 * Why not node:http2: its core costs a gRPC call ~30 us of CPU against ~9.5 us for the same call
 * framed here (bench/lib/bounds.ts, "grpc-put"), and a put's whole budget is ~100 us.
 *
 * What it does: the preface and SETTINGS exchange; request header blocks (HEADERS +
 * CONTINUATION, padding and priority stripped) decoded with the connection's HPACK state; DATA
 * delivered to the stream; flow control both ways; PING, RST_STREAM, GOAWAY and WINDOW_UPDATE;
 * every violation answered as the RFC says (a stream error resets the stream, a connection error
 * sends GOAWAY and closes). What it sends is queued and written once per tick (h2-output.ts).
 *
 * Flow control in: we advertise `windowBytes` per stream and for the connection and give bytes
 * back as they are delivered, once per tick; a stream that holds its window (a proxied upload
 * whose reader is slow) gets its bytes back when it lets go. Flow control out: h2-output.ts.
 *
 * Invariants: stream ids only grow; a stream is in `streams` from its HEADERS until both sides
 * ended or it was reset; every header block is decoded, even for a refused stream, so the HPACK
 * table stays in step with the client's.
 */
import type net from 'node:net';
import type * as http2 from 'node:http2';
import { E, F_ACK, F_END_HEADERS, F_END_STREAM, F_PRIORITY, unpad, FRAME_HEADER_BYTES, PREFACE, DEFAULT_MAX_FRAME_BYTES } from './frames.ts';
import { T_CONTINUATION, T_DATA, T_GOAWAY, T_HEADERS, T_PING, T_PRIORITY, T_PUSH_PROMISE, T_RST_STREAM, T_SETTINGS, T_WINDOW_UPDATE } from './frames.ts';
import { HpackDecoder, HpackError } from './hpack-decoder.ts';
import { H2Output } from './h2-output.ts';
import { H2Stream, type StreamOwner } from './h2-stream.ts';
import { requestHeaders } from './request-headers.ts';

export interface H2ConnectionOptions {
  /** A new stream: its headers as node would give them, and the fields in order. */
  onStream(stream: H2Stream, headers: http2.IncomingHttpHeaders, fields: Array<[string, string]>): void;
  /** Per-stream and connection receive window we keep open. */
  windowBytes: number;
  /** Largest decoded request header list; a larger one resets its stream. */
  maxHeaderListBytes: number;
  /** Largest header block (HEADERS + CONTINUATION) we buffer before giving up on the client. */
  maxHeaderBlockBytes: number;
  /** Client cancels of open streams allowed per second before the connection is ended. */
  maxResetsPerSecond: number;
  /** The connection has closed (socket gone). */
  onClose(): void;
}

/** ms a connection ended for a protocol error waits for the client to close before it is cut. */
const FAILED_LINGER_MS = 1_000;

class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class H2Connection implements StreamOwner {
  readonly streams = new Map<number, H2Stream>();
  private readonly out: H2Output;
  private readonly hpack = new HpackDecoder();
  private pending: Buffer = Buffer.alloc(0);
  private prefaceSeen = false;
  /** Highest client stream id opened (GOAWAY reports it). */
  private lastStreamId = 0;
  /** A header block in progress: its stream, flags of its HEADERS frame, and the fragments. */
  private block: { id: number; endStream: boolean; parts: Buffer[]; bytes: number } | undefined;
  /** Bytes received on the connection and not yet given back. */
  private connUnacked = 0;
  /** Streams with received bytes not yet given back. */
  private readonly owing = new Set<H2Stream>();
  private goingAway = false;
  private closedOnce = false;
  private resetWindowStart = 0;
  private resetsInWindow = 0;

  constructor(
    private readonly socket: net.Socket,
    head: Buffer,
    private readonly opts: H2ConnectionOptions,
  ) {
    this.out = new H2Output(
      socket,
      () => this.giveBack(),
      (streams) => streams.forEach((s) => this.pump(s)),
    );
    this.out.start(opts.windowBytes);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.closed());
    if (head.length > 0) this.receive(head);
  }

  /** Stops taking new streams (GOAWAY NO_ERROR); open ones go on. */
  shutdown(): void {
    if (this.goingAway) return;
    this.goingAway = true;
    this.out.goaway(this.lastStreamId, E.NO_ERROR);
    if (this.streams.size === 0) this.out.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ---- StreamOwner ----

  sendHeaders(stream: H2Stream, headers: http2.OutgoingHttpHeaders, endStream: boolean): void {
    if (stream.localEnded) return;
    this.out.headers(stream, headers, endStream);
    if (endStream) this.localEnd(stream);
    else if (stream.queue.length > 0 || stream.ending) this.schedule(stream); // written before the headers
  }

  pump(stream: H2Stream): void {
    if (stream.closed || !stream.headersSent) return;
    this.out.pump(stream);
    if (stream.queue.length > 0 || !stream.ending || stream.localEnded) return;
    if (stream.waitForTrailers && stream.listenerCount('wantTrailers') > 0) {
      stream.waitForTrailers = false;
      stream.emit('wantTrailers');
      return;
    }
    if (stream.waitForTrailers) return; // asked for trailers but nobody sends them: as node, wait
    this.out.endData(stream);
    this.localEnd(stream);
  }

  schedule(stream: H2Stream): void {
    this.out.markDirty(stream);
  }

  reset(stream: H2Stream, code: number): void {
    if (stream.closed) return;
    this.out.rst(stream.id, code);
    this.forget(stream, true);
  }

  // ---- receiving ----

  private receive(chunk: Buffer): void {
    if (this.closedOnce) return; // after GOAWAY for an error: nothing more is read
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      let o = 0;
      if (!this.prefaceSeen) {
        if (this.pending.length < PREFACE.length) return;
        if (this.pending.compare(PREFACE, 0, PREFACE.length, 0, PREFACE.length) !== 0) throw new ConnectionError(E.PROTOCOL_ERROR, 'bad connection preface');
        this.prefaceSeen = true;
        o = PREFACE.length;
      }
      const buf = this.pending;
      while (buf.length - o >= FRAME_HEADER_BYTES) {
        const len = (buf[o]! << 16) | (buf[o + 1]! << 8) | buf[o + 2]!;
        if (len > DEFAULT_MAX_FRAME_BYTES) throw new ConnectionError(E.FRAME_SIZE_ERROR, `frame of ${len} bytes exceeds SETTINGS_MAX_FRAME_SIZE`);
        if (buf.length - o < FRAME_HEADER_BYTES + len) break;
        const type = buf[o + 3]!;
        const flags = buf[o + 4]!;
        const id = buf.readUInt32BE(o + 5) & 0x7fffffff;
        const payload = buf.subarray(o + FRAME_HEADER_BYTES, o + FRAME_HEADER_BYTES + len);
        o += FRAME_HEADER_BYTES + len;
        this.frame(type, flags, id, payload);
        if (this.closedOnce) return;
      }
      this.pending = o === buf.length ? Buffer.alloc(0) : buf.subarray(o);
    } catch (err) {
      // Whatever a client sends, the server stays up: an error that is not the client's fault
      // (a bug here or in a handler) ends this connection with INTERNAL_ERROR, not the process.
      if (err instanceof ConnectionError) this.fail(err.code, err.message);
      else this.fail(E.INTERNAL_ERROR, 'internal error');
    }
  }

  private frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.block && type !== T_CONTINUATION) throw new ConnectionError(E.PROTOCOL_ERROR, 'header block interrupted');
    switch (type) {
      case T_DATA:
        return this.data(flags, id, payload);
      case T_HEADERS:
        return this.headersFrame(flags, id, payload);
      case T_CONTINUATION:
        if (!this.block || this.block.id !== id) throw new ConnectionError(E.PROTOCOL_ERROR, 'CONTINUATION without a header block');
        return this.fragment(payload, flags);
      case T_PRIORITY:
        if (id === 0) throw new ConnectionError(E.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (payload.length !== 5) return this.streamError(id, E.FRAME_SIZE_ERROR);
        return;
      case T_RST_STREAM: {
        if (id === 0) throw new ConnectionError(E.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
        if (payload.length !== 4) throw new ConnectionError(E.FRAME_SIZE_ERROR, 'RST_STREAM length');
        if (id > this.lastStreamId) throw new ConnectionError(E.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
        const s = this.streams.get(id);
        if (s) {
          this.countReset();
          this.forget(s, true);
        }
        return;
      }
      case T_SETTINGS:
        return this.settings(flags, id, payload);
      case T_PUSH_PROMISE:
        throw new ConnectionError(E.PROTOCOL_ERROR, 'a client may not push');
      case T_PING:
        if (id !== 0) throw new ConnectionError(E.PROTOCOL_ERROR, 'PING on a stream');
        if (payload.length !== 8) throw new ConnectionError(E.FRAME_SIZE_ERROR, 'PING length');
        if (!(flags & F_ACK)) this.out.pingAck(payload);
        return;
      case T_GOAWAY:
        if (id !== 0) throw new ConnectionError(E.PROTOCOL_ERROR, 'GOAWAY on a stream');
        // The client will open no more streams; those open finish, then it closes.
        return;
      case T_WINDOW_UPDATE:
        return this.windowUpdate(id, payload);
      default:
        return; // unknown frame types are ignored (§5.5)
    }
  }

  private settings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(E.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & F_ACK) {
      if (payload.length !== 0) throw new ConnectionError(E.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (payload.length % 6 !== 0) throw new ConnectionError(E.FRAME_SIZE_ERROR, 'SETTINGS length');
    const problem = this.out.applySettings(payload, this.streams.values());
    if (problem) throw new ConnectionError(problem.code, problem.message);
    for (const s of this.out.takeBlocked()) this.pump(s);
  }

  private windowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(E.FRAME_SIZE_ERROR, 'WINDOW_UPDATE length');
    const inc = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (inc === 0) throw new ConnectionError(E.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      if (!this.out.growConnection(inc)) throw new ConnectionError(E.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      for (const s of this.out.takeBlocked()) this.pump(s);
      return;
    }
    const s = this.streams.get(id);
    if (!s) {
      if (id > this.lastStreamId) throw new ConnectionError(E.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
      return; // closed already
    }
    if (inc === 0) return this.streamError(id, E.PROTOCOL_ERROR);
    if (s.sendWindow + inc > 2 ** 31 - 1) return this.streamError(id, E.FLOW_CONTROL_ERROR);
    s.sendWindow += inc;
    this.pump(s);
  }

  private data(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(E.PROTOCOL_ERROR, 'DATA on stream 0');
    this.connUnacked += payload.length; // the whole frame counts, padding included
    if (this.connUnacked > this.opts.windowBytes) throw new ConnectionError(E.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    this.out.wantGiveBack();
    const s = this.streams.get(id);
    if (!s || s.remoteEnded) {
      if (id > this.lastStreamId) throw new ConnectionError(E.PROTOCOL_ERROR, 'DATA on an idle stream');
      if (s) this.streamError(id, E.STREAM_CLOSED);
      return;
    }
    const body = unpad(payload, flags);
    if (body === undefined) throw new ConnectionError(E.PROTOCOL_ERROR, 'padding exceeds the frame');
    if (!s.remoteEnded && !(flags & F_END_STREAM)) {
      s.unacked += payload.length;
      if (s.unacked > this.opts.windowBytes) return this.streamError(id, E.FLOW_CONTROL_ERROR);
      this.owing.add(s);
    }
    if (flags & F_END_STREAM) s.endReceived = true; // a handler answering on this data sees it
    if (body.length > 0 && !s.closed) s.emit('data', body);
    if (flags & F_END_STREAM) this.remoteEnd(s);
  }

  private headersFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0 || id % 2 === 0) throw new ConnectionError(E.PROTOCOL_ERROR, `HEADERS on stream ${id}`);
    let p = unpad(payload, flags);
    if (p === undefined) throw new ConnectionError(E.PROTOCOL_ERROR, 'padding exceeds the frame');
    if (flags & F_PRIORITY) {
      if (p.length < 5) throw new ConnectionError(E.FRAME_SIZE_ERROR, 'HEADERS priority block');
      p = p.subarray(5);
    }
    this.block = { id, endStream: (flags & F_END_STREAM) !== 0, parts: [], bytes: 0 };
    this.fragment(p, flags);
  }

  private fragment(p: Buffer, flags: number): void {
    const b = this.block!;
    b.parts.push(p);
    b.bytes += p.length;
    if (b.bytes > this.opts.maxHeaderBlockBytes) throw new ConnectionError(E.ENHANCE_YOUR_CALM, 'header block too large');
    if (!(flags & F_END_HEADERS)) return;
    this.block = undefined;
    let decoded;
    try {
      decoded = this.hpack.decode(b.parts.length === 1 ? b.parts[0]! : Buffer.concat(b.parts), this.opts.maxHeaderListBytes);
    } catch (err) {
      if (err instanceof HpackError) throw new ConnectionError(E.COMPRESSION_ERROR, err.message);
      throw err;
    }
    const existing = this.streams.get(b.id);
    if (existing) {
      // Trailers from the client: they must end the stream; their fields are not used.
      if (!b.endStream) return this.streamError(b.id, E.PROTOCOL_ERROR);
      return this.remoteEnd(existing);
    }
    if (b.id <= this.lastStreamId) throw new ConnectionError(E.STREAM_CLOSED, `HEADERS on closed stream ${b.id}`);
    this.lastStreamId = b.id;
    if (this.goingAway) return this.streamError(b.id, E.REFUSED_STREAM);
    const headers = requestHeaders(decoded.fields);
    if (decoded.tooLarge || headers === undefined) return this.streamError(b.id, E.PROTOCOL_ERROR);
    const s = new H2Stream(b.id, this, this.out.initialStreamWindow);
    s.endReceived = b.endStream;
    this.streams.set(b.id, s);
    this.opts.onStream(s, headers, decoded.fields);
    if (b.endStream) this.remoteEnd(s);
  }

  // ---- stream life ----

  private remoteEnd(s: H2Stream): void {
    if (s.remoteEnded) return;
    s.remoteEnded = true;
    s.endReceived = true;
    s.unacked = 0;
    if (!s.closed) s.emit('end');
    if (s.localEnded && !s.closed) this.forget(s, false);
  }

  /** END_STREAM went out. A client still sending is told to stop (RST_STREAM NO_ERROR, §8.1). */
  private localEnd(s: H2Stream): void {
    s.localEnded = true;
    if (!s.endReceived) this.out.rst(s.id, E.NO_ERROR);
    this.forget(s, false);
  }

  private forget(s: H2Stream, reset: boolean): void {
    this.streams.delete(s.id);
    this.out.unblock(s);
    s.finish(reset);
    if (this.goingAway && this.streams.size === 0) this.out.end();
  }

  private streamError(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s) this.reset(s, code);
    else this.out.rst(id, code);
  }

  /**
   * "Rapid reset" (CVE-2023-44487): a client that opens streams and cancels them at once makes
   * the server start work it never finishes, at no cost to itself. More than
   * `maxResetsPerSecond` cancels within a second end the connection with ENHANCE_YOUR_CALM.
   */
  private countReset(): void {
    const now = Date.now();
    if (now - this.resetWindowStart >= 1000) {
      this.resetWindowStart = now;
      this.resetsInWindow = 0;
    }
    if (++this.resetsInWindow > this.opts.maxResetsPerSecond) throw new ConnectionError(E.ENHANCE_YOUR_CALM, 'too many streams reset');
  }

  /**
   * Runs once per tick before the write: the windows given back for what was delivered, once a
   * quarter of a window is owed (the client still has three quarters to go on), so a stream of
   * small calls does not cost the client a WINDOW_UPDATE per tick.
   */
  private giveBack(): void {
    const threshold = this.opts.windowBytes / 4;
    if (this.connUnacked >= threshold) {
      this.out.windowUpdate(0, this.connUnacked);
      this.connUnacked = 0;
    }
    for (const s of this.owing) {
      if (s.remoteEnded || s.closed) this.owing.delete(s);
      else if (s.unacked >= threshold && !s.holdWindow) {
        this.out.windowUpdate(s.id, s.unacked);
        s.unacked = 0;
        this.owing.delete(s);
      }
    }
  }

  /** A stream that held its window lets go (its reader caught up). */
  releaseWindow(s: H2Stream): void {
    s.holdWindow = false;
    if (s.unacked > 0) this.out.wantGiveBack();
  }

  private fail(code: number, message: string): void {
    this.out.goaway(this.lastStreamId, code, message);
    this.out.end();
    this.closed();
    // A client that keeps its side open after the GOAWAY does not keep the socket.
    setTimeout(() => this.socket.destroy(), FAILED_LINGER_MS).unref();
  }

  private closed(): void {
    if (this.closedOnce) return;
    this.closedOnce = true;
    for (const s of [...this.streams.values()]) this.forget(s, true);
    this.opts.onClose();
  }
}
