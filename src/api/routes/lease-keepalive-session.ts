/**
 * One keep-alive stream, whatever carries it (streaming HTTP POST or WebSocket): each
 * LeaseKeepAliveRequest renews its lease and is answered with one `{"result":…}` message, in
 * request order (a renewal of an expired lease waits for its revoke, so answers are chained).
 * An unknown or expired lease answers with TTL omitted (0), as etcd; a malformed message gets an
 * in-stream error and the stream goes on.
 */
import type { Lessor } from '../../lease/lease-api.ts';
import { mapError, streamErrorBody } from '../error-map.ts';
import { encodeKeepAliveFrame } from '../json-lease.ts';
import type { Identity } from '../json.ts';
import { asObject, parseJsonObject } from '../json-read.ts';
import { decodeLeaseId } from '../json-lease.ts';

export interface KeepAliveDeps {
  lessor: Lessor;
  identity: Identity;
  /** The header revision of each answer. */
  currentRevision(): number;
  /** Writes one complete message (no newline); the transport frames it. */
  write(message: string): void;
  maxFrameBytes: number;
}

export class KeepAliveSession {
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly deps: KeepAliveDeps) {}

  /** A parsed request; throws (synchronously) when it is not a LeaseKeepAliveRequest. */
  handleObject(value: unknown): void {
    const id = decodeLeaseId(asObject(value, 'request'));
    this.enqueue(async () => {
      let ttl: number;
      try {
        ttl = await this.deps.lessor.renew(id);
      } catch (err) {
        return this.error(err);
      }
      this.send(encodeKeepAliveFrame(this.deps.identity, this.deps.currentRevision(), id, ttl));
    });
  }

  /** A WebSocket text frame: one request; a malformed one is answered in-stream. */
  handleText(text: string): void {
    try {
      this.handleObject(parseJsonObject(text));
    } catch (err) {
      this.writeError(err);
    }
  }

  /** An in-stream error, in order after the answers already queued. */
  writeError(err: unknown): void {
    this.enqueue(async () => this.error(err));
  }

  /** Resolves once every request so far is answered. */
  drained(): Promise<void> {
    return this.chain;
  }

  close(): void {
    this.closed = true;
  }

  private error(err: unknown): void {
    this.send(streamErrorBody(mapError(err, this.deps.maxFrameBytes)));
  }

  private send(message: string): void {
    if (!this.closed) this.deps.write(message);
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch(() => {});
  }
}
