/**
 * One gRPC streaming call answered straight on its HTTP/2 stream (the direct paths beside
 * grpc-js): length-prefixed messages in, messages out in vectored writes, and one final status.
 *
 * Invariants:
 *   - the status is sent once: in the trailers after the messages, or, if no message went out,
 *     as a trailers-only response (headers with END_STREAM), as grpc-js and grpc-go do;
 *   - after end() nothing more is read or written; onClose handlers run once, whichever way the
 *     stream goes (status sent, client cancel, connection lost);
 *   - a client that leaves the final status unread (its window shut) does not pin the stream:
 *     it is reset after END_GRACE_MS.
 */
import type * as http2 from 'node:http2';
import type { ServerStream } from '../h2/h2-stream.ts';
import { status } from '@grpc/grpc-js';
import { grpcTimeoutMs, statusFields, trailersOnlyHeaders } from './grpc-wire.ts';

/** ms a stream may take to flush its final status before it is reset. */
const END_GRACE_MS = 5_000;
const NGHTTP2_CANCEL = 8;

export class GrpcCall {
  ended = false;
  private headersSent = false;
  private corked = false;
  private closed = false;
  private final: { code: number; details: string } = { code: status.OK, details: '' };
  private readonly closeHandlers: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  /** Bytes received and not yet taken as messages: chunks joined only once a message is whole. */
  private inbox: Buffer[] = [];
  private inboxBytes = 0;

  constructor(
    private readonly stream: ServerStream,
    headers: http2.IncomingHttpHeaders,
    private readonly maxReceiveBytes: number,
  ) {
    stream.on('error', () => {});
    stream.on('close', () => this.closeOnce());
    const deadline = grpcTimeoutMs(headers);
    if (typeof deadline === 'object') this.end(status.INTERNAL, deadline.invalid);
    else if (deadline !== undefined) this.timer = setTimeout(() => this.end(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), deadline);
  }

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closeHandlers.push(fn);
  }

  /** Each complete request message, in order; framing errors end the call. */
  onMessage(fn: (message: Buffer) => void): void {
    this.stream.on('data', (chunk: Buffer) => {
      if (this.ended) return;
      this.inbox.push(chunk);
      this.inboxBytes += chunk.length;
      while (!this.ended && this.inboxBytes >= 5) {
        if (this.inbox[0]!.length < 5) this.inbox = [Buffer.concat(this.inbox)];
        const first = this.inbox[0]!;
        const len = first.readUInt32BE(1);
        if (len > this.maxReceiveBytes) return this.end(status.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${len} vs. ${this.maxReceiveBytes})`);
        if (first[0] !== 0) return this.end(status.INTERNAL, 'grpc: compressed flag set with identity or empty encoding');
        if (this.inboxBytes < 5 + len) break;
        const all = this.inbox.length === 1 ? first : Buffer.concat(this.inbox);
        const rest = all.subarray(5 + len);
        this.inbox = rest.length > 0 ? [rest] : [];
        this.inboxBytes = rest.length;
        fn(all.subarray(5, 5 + len));
      }
    });
  }

  /** The client half-closed (after its last message). */
  onHalfClose(fn: () => void): void {
    this.stream.on('end', () => {
      if (!this.ended) fn();
    });
  }

  /**
   * Sends one message as two pieces (prefix + own fields, then shared bytes); `done` runs once
   * HTTP/2 has taken them (flow control permitting). Writes of one tick leave together.
   */
  send(head: Buffer, tail: Buffer | null, done: () => void): void {
    if (this.ended || this.stream.destroyed) return;
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      this.stream.once('wantTrailers', () => this.sendTrailers());
    }
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => {
        this.corked = false;
        this.stream.uncork();
      });
    }
    if (tail === null) this.stream.write(head, done);
    else {
      this.stream.write(head);
      this.stream.write(tail, done);
    }
  }

  /** Ends the call with a status (OK when the client finished); later calls do nothing. */
  end(code: number, details: string): void {
    if (this.ended) return;
    this.ended = true;
    this.final = { code, details };
    if (this.timer) clearTimeout(this.timer);
    this.stream.removeAllListeners('data');
    this.stream.resume(); // drop whatever else the client sends, so its window is not held
    if (this.stream.destroyed || this.stream.closed) return this.closeOnce();
    if (!this.headersSent) {
      this.headersSent = true;
      this.stream.respond(trailersOnlyHeaders(code, details), { endStream: true });
    } else {
      this.stream.end(); // trailers follow the last DATA frame ('wantTrailers')
    }
    this.timer = setTimeout(() => {
      if (!this.stream.closed) this.stream.close(NGHTTP2_CANCEL);
    }, END_GRACE_MS);
    this.timer.unref();
    this.closeOnce();
  }

  private sendTrailers(): void {
    this.stream.sendTrailers(statusFields(this.final.code, this.final.details));
  }

  private closeOnce(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.ended) {
      this.ended = true;
      if (this.timer) clearTimeout(this.timer);
    }
    for (const fn of this.closeHandlers.splice(0)) fn();
  }
}
