/**
 * One client's watch stream, transport-neutral: decodes WatchRequests, drives a WatchStream,
 * and turns its responses into `{"result":…}` frames for a FrameWriter (a WebSocket or a
 * streaming HTTP response).
 *
 * Backpressure: the sink refuses responses while the writer is above its high-water mark, so
 * the engine makes the watchers victims and keeps only their current batch; the transport calls
 * resume() when its socket drains. A writer that stays full longer than maxUnreadableMs is
 * killed, so an unreadable client cannot pin memory or watchers forever.
 */
import type { WatchEngine, WatchResponse, WatchStream } from '../../watch/watch-api.ts';
import { encodeWatchFramePieces, decodeWatchRequest, type Identity, type WatchFramePieces } from '../json.ts';
import { asObject, parseJsonObject } from '../json-read.ts';
import { mapError, streamErrorBody } from '../error-map.ts';

export interface FrameWriter {
  /**
   * Writes one frame: a whole `{"result":…}` or `{"error":…}` object, no newline. Watch
   * responses come in pieces whose event bytes are shared with other watchers' frames.
   */
  write(frame: string | WatchFramePieces): void;
  /** True while the transport's send buffer is above its high-water mark. */
  full(): boolean;
  /** Ends the connection because the client stopped reading. */
  kill(reason: string): void;
}

export interface SessionOptions {
  maxUnreadableMs: number;
  maxFrameBytes: number;
}

export class WatchSession {
  private readonly stream: WatchStream;
  private unreadableTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    engine: WatchEngine,
    private readonly identity: Identity,
    private readonly writer: FrameWriter,
    private readonly options: SessionOptions,
  ) {
    this.stream = engine.newStream({ send: (r) => this.send(r) });
  }

  private send(r: WatchResponse): boolean {
    if (this.closed) return true; // drop silently: the stream is going away
    if (this.writer.full()) {
      this.armUnreadable();
      return false;
    }
    this.writer.write(encodeWatchFramePieces(this.identity, r));
    return true;
  }

  private armUnreadable(): void {
    if (this.unreadableTimer) return;
    this.unreadableTimer = setTimeout(() => {
      this.unreadableTimer = undefined;
      if (this.closed) return;
      if (this.writer.full()) {
        this.writer.kill(`client did not read its watch stream for ${this.options.maxUnreadableMs} ms`);
      } else this.resume();
    }, this.options.maxUnreadableMs);
    this.unreadableTimer.unref();
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
    const req = decodeWatchRequest(asObject(value, 'watch request'));
    if ('create' in req) this.stream.create(req.create);
    else if ('cancel' in req) this.stream.cancel(req.cancel);
    else this.stream.requestProgress();
  }

  writeError(err: unknown): void {
    this.writer.write(streamErrorBody(mapError(err, this.options.maxFrameBytes)));
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
    if (this.unreadableTimer) clearTimeout(this.unreadableTimer);
    this.stream.close();
  }
}
