/**
 * One browser watch over Server-Sent Events: a single watcher on the shared WatchEngine, driven
 * exactly like a WebSocket session (ws/watch-session.ts), with SSE messages instead of frames.
 *
 * Backpressure: the HTTP response's writable buffer is the stream's capacity. While it holds
 * more than highWaterBytes the sink refuses responses, so the engine parks the watcher as a
 * victim with its one pending batch and catches it up from history later (victim loop, then
 * resume() on 'drain'). Nothing is dropped or repeated: a response is either taken whole or
 * offered again. A client that keeps the buffer full for maxUnreadableMs is disconnected.
 *
 * Messages (sse-encode.ts): one `change` per revision with `id` = the revision; `progress` with
 * the current revision once the watch is created from "now", and on an idle stream every
 * progressIntervalMs (asked of the engine, so the id never passes an undelivered event);
 * `compacted` then the end when the start revision was compacted away; a comment heartbeat
 * when nothing at all was written for heartbeatIntervalMs.
 */
import type { WatchCreateRequest, WatchEngine, WatchResponse, WatchStream } from '../../watch/watch-api.ts';
import { changeMessages, compactedMessage, errorMessage, HEARTBEAT, laggingMessage, progressMessage, snapshotDoneMessage, snapshotMessage, snapshotStartMessage } from './sse-encode.ts';
import type { StreamCounters } from './stream-stats.ts';

export interface SseWriter {
  write(chunk: string): void;
  /** True while the response buffer is above its high-water mark. */
  full(): boolean;
  /** Ends the response normally (compacted, canceled, server shutdown). */
  end(): void;
  /** Cuts the connection: the client stopped reading. */
  kill(reason: string): void;
}

export interface SseOptions {
  maxUnreadableMs: number;
  progressIntervalMs: number;
  heartbeatIntervalMs: number;
}

export class SseSession {
  private readonly stream: WatchStream;
  private readonly timers: NodeJS.Timeout[];
  private unreadableTimer: NodeJS.Timeout | undefined;
  private unreadableAt = 0;
  /** Between snapshot_start and snapshot_done: events are state pages, not changes. */
  private inSnapshot = false;
  private closed = false;
  /** A message (not a heartbeat) was written since the last progress tick. */
  private sentSinceProgress = false;
  /** Anything was written since the last heartbeat tick. */
  private wroteSinceHeartbeat = false;
  private readonly fromNow: boolean;
  private readonly withPrev: boolean;

  constructor(
    engine: WatchEngine,
    request: WatchCreateRequest,
    private readonly writer: SseWriter,
    private readonly options: SseOptions,
    private readonly stats: StreamCounters,
  ) {
    this.fromNow = request.startRevision === 0;
    this.withPrev = request.prevKv;
    stats.open++;
    this.stream = engine.newStream({ send: (r) => this.send(r) });
    this.timers = [
      setInterval(() => this.progressTick(), options.progressIntervalMs),
      setInterval(() => this.heartbeatTick(), options.heartbeatIntervalMs),
    ];
    for (const t of this.timers) t.unref();
    this.stream.create(request);
  }

  private send(r: WatchResponse): boolean {
    if (this.closed) return true; // going away: nothing more is written
    if (r.lagging) {
      // Advisory (watchkv extension): written even above the high-water mark, ahead of a kill.
      const disconnectInMs = this.unreadableTimer ? Math.max(0, this.unreadableAt - Date.now()) : undefined;
      this.message(laggingMessage({ ...r.lagging, disconnectInMs }), 0);
      return true;
    }
    if (this.writer.full()) {
      this.armUnreadable();
      return false;
    }
    if (r.created) {
      if (r.canceled) return this.finish(errorMessage(r.cancelReason ?? 'watch could not be created'));
      // A watch from "now" starts after r.revision: hand the client that resume point at once.
      if (this.fromNow) this.message(progressMessage(r.revision), 0);
      return true;
    }
    if (r.canceled) return this.finish(r.compactRevision ? compactedMessage(r.compactRevision) : errorMessage(r.cancelReason ?? 'watch canceled'));
    if (r.snapshotStart) {
      this.inSnapshot = true;
      this.message(snapshotStartMessage(r.revision, r.compactRevision), 0);
      return true;
    }
    if (r.snapshotDone) {
      this.inSnapshot = false;
      this.message(snapshotDoneMessage(r.revision), 0);
      return true;
    }
    if (this.inSnapshot) {
      if (r.events.length > 0) this.message(snapshotMessage(r.revision, r.events), r.events.length);
      return true; // a progress inside a transfer is no resume point
    }
    if (r.events.length === 0) {
      this.message(progressMessage(r.revision), 0);
      return true;
    }
    changeMessages(r.events, this.withPrev && r.withPrevKv, (m, _rev, n) => this.message(m, n));
    return true;
  }

  private message(text: string, events: number): void {
    this.writer.write(text);
    this.sentSinceProgress = true;
    this.wroteSinceHeartbeat = true;
    this.stats.messages++;
    this.stats.events += events;
    this.stats.bytes += Buffer.byteLength(text);
  }

  /** Writes a last message and ends the stream; the watcher is gone after it. */
  private finish(last: string): boolean {
    this.message(last, 0);
    this.close(true);
    this.writer.end();
    return true;
  }

  private progressTick(): void {
    if (this.closed) return;
    // Only idle streams need a bookmark; the engine answers once every event up to the current
    // revision has been taken, so the progress id is always a safe resume point.
    if (!this.sentSinceProgress) this.stream.requestProgress();
    this.sentSinceProgress = false;
  }

  private heartbeatTick(): void {
    if (this.closed) return;
    if (!this.wroteSinceHeartbeat && !this.writer.full()) this.writer.write(HEARTBEAT);
    this.wroteSinceHeartbeat = false;
  }

  private armUnreadable(): void {
    if (this.unreadableTimer) return;
    this.unreadableAt = Date.now() + this.options.maxUnreadableMs;
    this.unreadableTimer = setTimeout(() => {
      this.unreadableTimer = undefined;
      if (this.closed) return;
      if (this.writer.full()) this.writer.kill(`client did not read its event stream for ${this.options.maxUnreadableMs} ms`);
      else this.resume();
    }, this.options.maxUnreadableMs);
    this.unreadableTimer.unref();
  }

  /** The response drained: refused responses are offered again. */
  resume(): void {
    if (this.closed) return;
    if (this.unreadableTimer && !this.writer.full()) {
      clearTimeout(this.unreadableTimer);
      this.unreadableTimer = undefined;
    }
    this.stream.resume();
  }

  /**
   * Stops writing at once and releases the watcher. From inside the engine's send (`deferred`)
   * the release waits for the engine to finish the call that is offering the response.
   */
  close(deferred = false): void {
    if (this.closed) return;
    this.closed = true;
    this.stats.open--;
    for (const t of this.timers) clearInterval(t);
    if (this.unreadableTimer) clearTimeout(this.unreadableTimer);
    if (deferred) setImmediate(() => this.stream.close());
    else this.stream.close();
  }
}
