/**
 * One client's watch stream: drives a WatchStream and turns its responses into frames for a
 * FrameWriter. WatchSessionCore is transport-neutral (gRPC uses it with protobuf frames);
 * WatchSession adds the JSON side: decoding requests, `{"result":…}` frames for a WebSocket or a
 * streaming HTTP response.
 *
 * Backpressure: the sink refuses responses while the writer is above its high-water mark, so
 * the engine makes the watchers victims and keeps only their current batch; the transport calls
 * resume() when its socket drains. A writer that stays full longer than maxUnreadableMs is
 * killed, so an unreadable client cannot pin memory or watchers forever.
 */
import type { WatchEngine, WatchResponse, WatchStream } from '../../watch/watch-api.ts';
import { encodeWatchFramePieces, decodeWatchRequest, type Identity, type WatchFramePieces, type WatchRequest } from '../json.ts';
import { asObject, parseJsonObject } from '../json-read.ts';
import { mapError, streamErrorBody } from '../error-map.ts';
import type { StreamCounters } from '../watch/stream-stats.ts';

export interface FrameWriter<F = string | WatchFramePieces> {
  /**
   * Writes one frame: for the JSON transports a whole `{"result":…}` or `{"error":…}` object, no
   * newline, watch responses in pieces whose event bytes are shared with other watchers' frames;
   * for gRPC one encoded WatchResponse message.
   */
  write(frame: F): void;
  /** True while the transport's send buffer is above its high-water mark. */
  full(): boolean;
  /** Ends the connection because the client stopped reading. */
  kill(reason: string): void;
}

export interface SessionOptions {
  maxUnreadableMs: number;
  maxFrameBytes: number;
  /** The transport's counters (/metrics): open streams, messages, events and bytes written. */
  counters?: StreamCounters;
}

/**
 * The transport-neutral part: backpressure, the unreadable timer, and driving the WatchStream.
 * `encode` turns an engine response into the transport's frame (JSON pieces, protobuf bytes).
 */
export class WatchSessionCore<F> {
  private readonly stream: WatchStream;
  private unreadableTimer: NodeJS.Timeout | undefined;
  /** ms timestamp at which the unreadable timer fires (0 = not armed). */
  private unreadableAt = 0;
  protected closed = false;

  constructor(
    engine: WatchEngine,
    private readonly encode: (r: WatchResponse) => F,
    protected readonly writer: FrameWriter<F>,
    protected readonly options: SessionOptions,
    /** Bytes of one frame as the transport writes it, for the counters. */
    private readonly frameBytes: (frame: F) => number = () => 0,
  ) {
    this.stream = engine.newStream({ send: (r) => this.send(r) });
    if (options.counters) options.counters.open++;
  }

  private write(r: WatchResponse): void {
    const frame = this.encode(r);
    this.writer.write(frame);
    const c = this.options.counters;
    if (c) {
      c.messages++;
      c.events += r.events.length;
      c.bytes += this.frameBytes(frame);
    }
  }

  private send(r: WatchResponse): boolean {
    if (this.closed) return true; // drop silently: the stream is going away
    if (r.lagging) {
      // An advisory notice (watchkv extension) is written even above the high-water mark: it is
      // small, and the client should hear it before the disconnect it warns about.
      if (this.unreadableTimer) r = { ...r, lagging: { ...r.lagging, disconnectInMs: Math.max(0, this.unreadableAt - Date.now()) } };
      this.write(r);
      return true;
    }
    if (this.writer.full()) {
      this.armUnreadable();
      return false;
    }
    this.write(r);
    return true;
  }

  private armUnreadable(): void {
    if (this.unreadableTimer) return;
    this.unreadableAt = Date.now() + this.options.maxUnreadableMs;
    this.unreadableTimer = setTimeout(() => {
      this.unreadableTimer = undefined;
      if (this.closed) return;
      if (this.writer.full()) {
        this.writer.kill(`client did not read its watch stream for ${this.options.maxUnreadableMs} ms`);
      } else this.resume();
    }, this.options.maxUnreadableMs);
    this.unreadableTimer.unref();
  }

  /** Applies one decoded request to the stream. */
  handle(req: WatchRequest): void {
    if (this.closed) return;
    if ('create' in req) this.stream.create(req.create);
    else if ('cancel' in req) this.stream.cancel(req.cancel);
    else this.stream.requestProgress();
  }

  /** The transport drained: refused responses are offered again. */
  resume(): void {
    if (this.closed) return;
    if (this.unreadableTimer && !this.writer.full()) {
      clearTimeout(this.unreadableTimer);
      this.unreadableTimer = undefined;
    }
    this.stream.resume();
  }

  watcherCount(): number {
    return this.stream.size();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.options.counters) this.options.counters.open--;
    if (this.unreadableTimer) clearTimeout(this.unreadableTimer);
    this.stream.close();
  }
}

/** The JSON transports' session (WebSocket, streaming HTTP): `{"result":…}` frames. */
export class WatchSession extends WatchSessionCore<string | WatchFramePieces> {
  constructor(engine: WatchEngine, identity: Identity, writer: FrameWriter, options: SessionOptions) {
    super(engine, (r) => encodeWatchFramePieces(identity, r), writer, options, jsonFrameBytes);
  }

  /** Handles one raw client message; a malformed one gets an error frame and nothing else. */
  handleText(text: string): void {
    if (this.closed) return;
    try {
      if (Buffer.byteLength(text) > this.options.maxFrameBytes) {
        throw Object.assign(new Error('frame too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
      }
      this.handleObject(parseJsonObject(text));
    } catch (err) {
      this.writeError(err);
    }
  }

  /** Handles one parsed message; throws on a malformed one (the caller decides how to answer). */
  handleObject(value: unknown): void {
    this.handle(decodeWatchRequest(asObject(value, 'watch request')));
  }

  writeError(err: unknown): void {
    this.writer.write(streamErrorBody(mapError(err, this.options.maxFrameBytes)));
  }
}

/**
 * Bytes of a JSON frame, cheaply (it runs for every message of a fan-out): the head's length in
 * characters, which is its size in bytes because heads are ASCII (numbers, base64, field names;
 * only a rare cancel reason could hold more), plus the shared event bytes.
 */
function jsonFrameBytes(f: string | WatchFramePieces): number {
  if (typeof f === 'string') return f.length;
  return f.head.length + (f.events?.length ?? 0) + f.tail.length;
}
