/** Counters of the SSE watch transport, read by /metrics (api/metrics.ts). Per app, not global. */
export class SseStats {
  /** SSE streams open now. */
  open = 0;
  /** Messages written (change, progress, compacted, error; not heartbeats). */
  messages = 0;
  /** Watch events written in change messages. */
  events = 0;
  /** Bytes of those messages. */
  bytes = 0;
}
