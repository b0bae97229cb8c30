/**
 * Counters of the watch transports, read by /metrics (api/metrics.ts). Per app, not global: each
 * buildApp gets its own, so tests and several servers in one process do not mix.
 *
 * The WebSocket, streaming-HTTP and gRPC watch sessions count in WatchSessionCore (every engine
 * response they write); SSE counts in its own session (sse-session.ts).
 */

/** One transport's counters. */
export class StreamCounters {
  /** Streams open now. */
  open = 0;
  /** Messages written (events, progress, created/canceled and other control answers; not heartbeats). */
  messages = 0;
  /** Watch events carried by those messages. */
  events = 0;
  /** Bytes of those messages, as the transport frames them (JSON text, protobuf). */
  bytes = 0;
}

export const WATCH_TRANSPORTS = ['websocket', 'http', 'grpc', 'sse'] as const;
export type WatchTransport = (typeof WATCH_TRANSPORTS)[number];

export class WatchStreamStats {
  readonly websocket = new StreamCounters();
  readonly http = new StreamCounters();
  readonly grpc = new StreamCounters();
  readonly sse = new StreamCounters();
}
