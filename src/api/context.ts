/**
 * What every route needs: the store, the watch engine, the config, the server identity, and the
 * live watch connections (counted against maxWatchStreams, closed on shutdown).
 */
import type { KV } from '../mvcc/kv.ts';
import type { Lessor } from '../lease/lease-api.ts';
import type { WatchEngine } from '../watch/watch-api.ts';
import type { ServerConfig } from '../config.ts';
import type { Identity } from './json.ts';
import type { AuthStore } from '../auth/auth-store.ts';
import type { SnapshotSource } from '../snapshot/snapshot-writer.ts';
import type { WatchStreamStats } from './watch/stream-stats.ts';
import type { QueueService } from '../queue/queue-api.ts';
import type { UpstreamMonitor } from '../upstream/upstream-api.ts';
import type { TlsStatus } from './security/tls-files.ts';

export interface WatchConnection {
  /** Ends the connection with a close frame (WebSocket) or the end of the stream (HTTP). */
  shutdown(code: number, reason: string): void;
}

export interface ApiContext {
  kv: KV;
  engine: WatchEngine;
  /** Leases: grant, revoke, keep-alive, time-to-live (every transport shares this one). */
  lessor: Lessor;
  /** Work queues (src/queue/): every transport shares this one. */
  queues: QueueService;
  config: ServerConfig;
  /** Users, roles, tokens; checks go through security/request-auth.ts → auth/auth-check.ts. */
  auth: AuthStore;
  identity: Identity;
  connections: Set<WatchConnection>;
  /** Open streams, messages, events and bytes per watch transport (for /metrics). */
  streamStats: WatchStreamStats;
  /** The plain store, for /v3/maintenance/snapshot; absent where the app is built without one. */
  snapshots?: SnapshotSource;
  /** Upstream mode only: the mirror's state (/readyz is not-ready while behind, /metrics shows lag). */
  upstream?: UpstreamMonitor;
  /** False once shutdown began: /readyz answers 503 and new watch streams are refused. */
  serving: boolean;
  /**
   * The clientURLs member list reports over every transport: --advertise-client-urls, else the
   * listeners' own URLs. Empty until the server listens (an app never listening reports its config).
   */
  advertised: { clientUrls: string[] };
  /** The https:// listeners' certificate, for /metrics (set once they listen; absent without TLS). */
  tls?: { status(): TlsStatus };
}
