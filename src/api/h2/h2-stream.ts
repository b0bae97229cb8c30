/**
 * One HTTP/2 stream of watchkv's own framing layer, as the code answering it sees it.
 *
 * `ServerStream` is the part of node:http2's ServerHttp2Stream that the direct gRPC paths
 * (grpc/fast-unary.ts, grpc/grpc-call.ts) use, so they run unchanged on either layer. H2Stream
 * implements it with node's meanings: 'data' for each DATA payload, 'end' once the client has
 * half-closed, 'wantTrailers' when a response that waits for trailers has sent its last byte,
 * 'close' once, whichever way the stream ends; write callbacks run when the bytes have been
 * framed (the peer's flow-control windows permitting), which is what watch backpressure counts.
 *
 * Invariants: headers go out once; nothing is sent after END_STREAM or a reset; queued bytes
 * leave in order, never ahead of the headers.
 */
import { EventEmitter } from 'node:events';
import type * as http2 from 'node:http2';
import { E } from './frames.ts';

export interface ServerStream {
  readonly destroyed: boolean;
  readonly closed: boolean;
  readonly headersSent: boolean;
  on(event: 'data', fn: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close' | 'wantTrailers' | 'drain', fn: () => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  once(event: 'wantTrailers' | 'close' | 'drain', fn: () => void): unknown;
  removeAllListeners(event: 'data'): unknown;
  resume(): unknown;
  respond(headers: http2.OutgoingHttpHeaders, options?: { endStream?: boolean; waitForTrailers?: boolean }): void;
  sendTrailers(headers: http2.OutgoingHttpHeaders): void;
  write(chunk: Buffer, cb?: () => void): boolean;
  end(chunk?: Buffer): unknown;
  cork(): void;
  uncork(): void;
  close(code?: number): void;
}

/** What a stream asks of its connection. */
export interface StreamOwner {
  sendHeaders(stream: H2Stream, headers: http2.OutgoingHttpHeaders, endStream: boolean): void;
  /** Frames what the stream has queued, as far as the windows allow. */
  pump(stream: H2Stream): void;
  /** The stream has queued bytes: frame them with the rest of this tick's output. */
  schedule(stream: H2Stream): void;
  reset(stream: H2Stream, code: number): void;
}

/** Bytes queued on a stream above which write() answers false (node's highWaterMark). */
const HIGH_WATER_BYTES = 64 * 1024;

export class H2Stream extends EventEmitter implements ServerStream {
  headersSent = false;
  destroyed = false;
  closed = false;
  /** The client sent END_STREAM, and 'end' was emitted. */
  remoteEnded = false;
  /** The frame being handled carries END_STREAM ('end' follows once its data is delivered). */
  endReceived = false;
  /** END_STREAM (or a reset) has gone out. */
  localEnded = false;
  /** end() was called: END_STREAM (or 'wantTrailers') once the queue is framed. */
  ending = false;
  waitForTrailers = false;
  /** Bytes the peer lets us send on this stream (its SETTINGS and WINDOW_UPDATEs). */
  sendWindow: number;
  /** Payloads not yet framed, each with the offset framed so far and its write callback. */
  readonly queue: Array<{ buf: Buffer; offset: number; cb: (() => void) | undefined }> = [];
  queuedBytes = 0;
  /** A write answered false: 'drain' is owed once the queue falls below the mark. */
  needDrain = false;
  /** Bytes received and not yet given back with a stream WINDOW_UPDATE. */
  unacked = 0;
  /** While set, received bytes are not given back (a proxied upload waiting for its reader). */
  holdWindow = false;

  constructor(
    readonly id: number,
    private readonly owner: StreamOwner,
    initialSendWindow: number,
  ) {
    super();
    this.sendWindow = initialSendWindow;
  }

  respond(headers: http2.OutgoingHttpHeaders, options: { endStream?: boolean; waitForTrailers?: boolean } = {}): void {
    if (this.headersSent || this.localEnded) return;
    this.headersSent = true;
    this.waitForTrailers = options.waitForTrailers === true;
    this.owner.sendHeaders(this, headers, options.endStream === true);
  }

  sendTrailers(headers: http2.OutgoingHttpHeaders): void {
    if (this.localEnded) return;
    this.owner.sendHeaders(this, headers, true);
  }

  write(chunk: Buffer, cb?: () => void): boolean {
    if (this.localEnded || this.ending) return false;
    if (chunk.length === 0) {
      if (cb) process.nextTick(cb);
      return true;
    }
    this.queue.push({ buf: chunk, offset: 0, cb });
    this.queuedBytes += chunk.length;
    this.owner.schedule(this);
    if (this.queuedBytes < HIGH_WATER_BYTES) return true;
    this.needDrain = true;
    return false;
  }

  end(chunk?: Buffer): void {
    if (chunk && chunk.length > 0) this.write(chunk);
    if (this.ending || this.localEnded) return;
    this.ending = true;
    // Framed with the tick's other writes, in the order they were made: an answer ended now does
    // not overtake what another stream wrote before it (a watch event before its put's reply).
    this.owner.schedule(this);
  }

  /**
   * Writes of one tick already leave together: they are framed at the end of the tick, as few
   * DATA frames as the windows and frame size allow, and written to the socket at once.
   */
  cork(): void {}
  uncork(): void {}

  /** Received data always flows; there is nothing to resume. */
  resume(): void {}

  close(code: number = E.NO_ERROR): void {
    if (this.closed) return;
    this.owner.reset(this, code);
  }

  // ---- called by the connection ----

  /** Bytes were framed: run their callbacks' owners' 'drain' when the queue got short. */
  drained(): void {
    if (this.needDrain && this.queuedBytes < HIGH_WATER_BYTES) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  /** The stream is over (both sides ended, or reset): 'close' once, later on this tick. */
  finish(reset: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.localEnded = true;
    if (reset) this.destroyed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    process.nextTick(() => this.emit('close'));
  }
}
