/**
 * Defaults and limits, in one frozen object. Units are in the names; each value says why it is
 * what it is. Constructors take the slice they need as options; tests override by passing
 * options, never by mutating this object. This file imports nothing from the project.
 */

const MiB = 1024 * 1024;

/**
 * bytes: the largest HTTP body or WebSocket frame for a request limit. Like etcd's gRPC limit it
 * is the request limit + 512 KiB, so base64 and JSON overhead do not reject a legal request.
 */
export function bodyLimitBytes(maxRequestBytes: number): number {
  return maxRequestBytes + 512 * 1024;
}

export const DEFAULTS = Object.freeze({
  // --- server ---
  /** Where clients connect. Same flag name and default as etcd's, so etcd tooling just works. */
  listenClientUrls: 'http://127.0.0.1:2379',
  /** The member name in /v3/cluster/member/list; etcd's --name default. */
  memberName: 'default',
  /** LevelDB directory; relative to the working directory, like etcd's default.etcd. */
  dataDir: './data',
  /** pino level. 'info' gives one line per start/stop and per error, never per event. */
  logLevel: 'info',

  // --- request limits ---
  /** bytes: largest put/txn payload, etcd's --max-request-bytes default (1.5 MiB). */
  maxRequestBytes: 1.5 * MiB,
  /** bytes: largest HTTP body or WebSocket frame accepted at all (see bodyLimitBytes). */
  maxBodyBytes: bodyLimitBytes(1.5 * MiB),
  /** operations: most ops one txn may carry, etcd's --max-txn-ops default. */
  maxTxnOps: 128,

  // --- store ---
  /** records: how many backend records one compaction batch deletes before yielding. */
  compactionBatchRecords: 1000,
  /** records: how many records a restore or history scan reads per batch before yielding. */
  scanBatchRecords: 1000,
  /**
   * bytes: the store's space quota, etcd's --quota-backend-bytes default (2 GiB): a write that
   * would take the data directory past it is refused and raises the NOSPACE alarm.
   */
  quotaBackendBytes: 2 * 1024 * MiB,
  /** ms: how often, while writes come in, the data directory is measured for the quota. */
  quotaSizeRefreshMs: 1000,

  // --- watch engine ---
  /** ms: how often the victim loop retries watchers whose stream was full (etcd: 10 ms). */
  victimRetryIntervalMs: 10,
  /** ms: how often the sync loop catches unsynced watchers up from the store (etcd: 100 ms). */
  syncIntervalMs: 100,
  /**
   * ms: how often the sync timer retries a lagging latest-value watcher whose stream refused its
   * batch and has not resumed since. A resume (the transport drained) retries at once; the timer
   * is only the safety net, and building a batch from the shared table costs a walk of it.
   */
  latestRetryIntervalMs: 1000,
  /** watchers: most unsynced watchers one sync pass serves, so a pass stays short (etcd: 512). */
  syncMaxWatchersPerPass: 512,
  /** revisions: most revisions one sync pass reads from the store (etcd: 1000). */
  syncMaxRevisionsPerPass: 1000,
  /**
   * bytes: memory the watch engine may spend keeping the most recent committed events, so a
   * watcher catching up from the recent past (a reconnect, a slow consumer) is served without
   * reading and decoding the store. Estimated per event (recent-history.ts): with small values
   * about 0.6 KB, so 128 MiB holds roughly the last 220,000 events. 0 turns it off.
   */
  watchHistoryBytes: 128 * MiB,
  /**
   * Encoding recent events for replays ahead of time (api/idle-encoder.ts) runs only in quiet
   * intervals: ms between looks at the loop's load, the utilization (0..1) above which it waits,
   * and ms per encoding slice (a slice per look at most, so it takes at most 20 % of an idle
   * loop). What waits is bounded by watchHistoryBytes, as the history itself.
   */
  preEncodeCheckIntervalMs: 50,
  preEncodeBusyUtilization: 0.5,
  preEncodeSliceMs: 10,
  /** ms: periodic progress notification interval, etcd's default of 10 minutes. */
  progressNotifyIntervalMs: 10 * 60 * 1000,
  /** ms: the smallest progress interval accepted; below it notifications would be noise (etcd). */
  minProgressNotifyIntervalMs: 100,
  /**
   * bytes: a watch response of this size or more (protobuf bytes) is split when the watcher
   * asked for `fragment`. etcd uses maxRequestBytes + 512 KiB of gRPC overhead = 2 MiB; the
   * server sets it from --max-request-bytes the same way (bodyLimitBytes).
   */
  watchFragmentBytes: 2 * MiB,
  /** keys: page size of a watch state transfer (initial_state, resync): one store read each. */
  watchSnapshotPageKeys: 1000,
  /** ms: default lag_notify threshold: behind for this long (and the re-notify interval). */
  watchLagNotifyAfterMs: 5000,
  /** revisions: default lag_notify threshold: this many revisions behind. */
  watchLagNotifyRevisions: 10_000,

  // --- leases ---
  /**
   * s: the smallest lease TTL; shorter (0 and negatives included) is raised to it. etcd derives
   * it from its election timeout: ceil(1.5 × 10 ticks × 100 ms) = 2 s.
   */
  minLeaseTtlSeconds: 2,
  /** s: the largest lease TTL, etcd's MaxLeaseTTL; above it a grant fails (OutOfRange). */
  maxLeaseTtlSeconds: 9_000_000_000,
  /** ms: how often expired leases are looked for (etcd's lessor checks every 500 ms). */
  leaseCheckIntervalMs: 500,
  /**
   * leases: most expired leases revoked at once before yielding to the event loop. Each is its
   * own write txn (one revision); group commit makes a batch cost about one fsync.
   */
  leaseRevokeBatch: 256,

  // --- WebSocket transport ---
  /** watchers: most watchers one socket (one watch stream) may hold. */
  maxWatchersPerStream: 10_000,
  /** sockets: most concurrent watch streams (WebSocket + HTTP) the server accepts. */
  maxWatchStreams: 16_384,
  /**
   * bytes: a watch stream's send capacity. Above this much unsent data in the socket the stream
   * refuses responses and its watchers become victims; the socket, not the engine, knows what
   * the client has actually read.
   */
  wsHighWaterBytes: 1 * MiB,
  /** ms: a client that keeps its socket full (unreadable) for longer than this is disconnected. */
  wsMaxUnreadableMs: 30_000,
  /**
   * messages: a gRPC watch stream also refuses responses while this many are waiting for HTTP/2
   * to take them (grpc-js's own queue limit, which the stream had before its direct path). Under
   * load its watchers then catch up with many revisions per response, and gRPC clients pay per
   * message far more than per event: measured, several times the events/s of one message per
   * watcher per revision (bench/lib/bounds.ts).
   */
  grpcWatchHighWaterMessages: 16,
  // --- Server-Sent Events watch (/v1/watch) ---
  /**
   * ms: an SSE stream that sent nothing for this long gets an `event: progress` with the current
   * revision as its id, so a client reconnecting after a quiet spell resumes from a recent point
   * instead of replaying from an old one.
   */
  sseProgressIntervalMs: 30_000,
  /**
   * ms: an SSE stream that wrote nothing at all for this long gets a comment line, so proxies and
   * load balancers with idle timeouts (often 60 s) keep the connection open.
   */
  sseHeartbeatIntervalMs: 15_000,
  /**
   * ms: how long a new connection may stay silent before its first bytes say whether it speaks
   * HTTP/1.1 or HTTP/2 (gRPC); every real client sends at once, so this only reaps idle sockets.
   */
  connectionPrefaceTimeoutMs: 10_000,
  /**
   * ms: how long a new HTTP/2 connection whose client acknowledged our SETTINGS may stay without
   * a first request before it is handed to Node's HTTP/2 layer unread (api/h2-first-request.ts).
   */
  h2FirstRequestQuietMs: 200,
  /**
   * Who frames HTTP/2: 'own' = src/api/h2/ (the direct gRPC paths answer there; the rest passes
   * to node:http2 + grpc-js; TLS with client-certificate auth stays on node:http2), 'node' =
   * node:http2 for everything (--h2-framing).
   */
  h2Framing: 'own' as 'own' | 'node',
  /** bytes: receive window per HTTP/2 stream and per connection in the own framing layer. */
  h2WindowBytes: 1024 * 1024,
  /** bytes: largest decoded request header list (names + values + 32 per field), as Node's default. */
  h2MaxHeaderListBytes: 64 * 1024,
  /**
   * Client cancels (RST_STREAM of an open stream) per second one HTTP/2 connection may make before
   * it is ended with ENHANCE_YOUR_CALM: the "rapid reset" guard (CVE-2023-44487) Node's http2 has.
   */
  h2MaxResetsPerSecond: 1000,
  /** How often an open gRPC health Watch (grpc.health.v1) looks for a change of readiness. */
  healthWatchCheckIntervalMs: 1_000,
  /** ms: how long graceful shutdown waits for in-flight commits before closing the store. */
  shutdownGraceMs: 5_000,
  /**
   * ms: a signal repeated this soon after the first is the same request, not a demand to hurry.
   * Ctrl-C in a terminal reaches every process of the foreground group, and npm forwards its copy
   * to the server too, so `npm start` gets two SIGINTs a few ms apart; a person pressing Ctrl-C
   * again is far slower than this.
   */
  signalRepeatIgnoreMs: 250,

  // --- auto-compaction (etcd's --auto-compaction-mode / --auto-compaction-retention) ---
  /** 'periodic' (keep a span of time) or 'revision' (keep a number of revisions); etcd's default. */
  autoCompactionMode: 'periodic' as 'periodic' | 'revision',
  /** periodic: ms of history kept; revision: revisions kept. 0 = auto-compaction off, as etcd. */
  autoCompactionRetention: 0,
  /** ms: how often revision mode compacts at current - retention (etcd: 5 minutes). */
  autoCompactionRevisionIntervalMs: 5 * 60_000,

  // --- work queues (src/queue/) ---
  /** ms: how long a delivered item may stay unacked before it is retried (SQS's default). */
  queueVisibilityMs: 30_000,
  /** ms: the first retry's backoff, and the floor of every backoff. */
  queueBackoffMinMs: 1_000,
  /** ms: the largest backoff (the bound doubles per failed attempt up to this). */
  queueBackoffMaxMs: 5 * 60_000,
  /** Failed deliveries after which an item moves to the dead letter. */
  queueMaxAttempts: 10,
  /** ms: the largest visibility a queue or a take may ask for (12 h, as SQS). */
  queueMaxVisibilityMs: 12 * 60 * 60_000,
  /** ms: the largest backoff a queue may configure (a day). */
  queueMaxBackoffMs: 24 * 60 * 60_000,
  /** The largest max_attempts a queue may configure (each failure is kept in the history). */
  queueMaxAttemptsLimit: 1000,
  /** items: most credit one consumer may hold at once (and most items one HTTP take returns). */
  queueMaxCredit: 10_000,
  /** ms: the longest an HTTP take may wait for items (?wait). */
  queueMaxTakeWaitMs: 60_000,
  /** ms: how long a failed queue write waits before it is tried again (the store is failing). */
  queueWriteRetryMs: 1_000,

  // --- storage backend ---
  /**
   * bytes: free disk space needed before LevelDB, wedged by a failed write (disk full), is
   * reopened to accept writes again. Reopening writes a new log and manifest; on a disk that is
   * still full it would fail and stop reads as well. 64 MiB leaves room for them and a memtable.
   */
  storageReopenMinFreeBytes: 64 * MiB,

  // --- upstream mode (--upstream-endpoints: a fan-out tier over an etcd cluster) ---
  /** ms: deadline of one forwarded call to an etcd member before the next member is tried. */
  upstreamRequestTimeoutMs: 5_000,
  /** ms: first and largest pause before reconnecting the upstream watch (doubles per failure). */
  upstreamRetryMinMs: 50,
  upstreamRetryMaxMs: 1_000,
  /** ms: how often the upstream head revision is asked for (lag metrics and /readyz). */
  upstreamProgressIntervalMs: 500,
  /**
   * ms: /readyz says not-ready once the mirror has been behind the upstream head (or
   * disconnected) for longer than this; etcd's own election takes ~1 s, so 3 s rides one out.
   */
  upstreamReadyLagMs: 3_000,
  /** keys: page size of the initial list and of a relist (one etcd range per page). */
  upstreamListPageKeys: 1_000,
  /**
   * ms: a forwarded write waits up to this long for the mirror to reach its revision before it
   * is acknowledged, so a client reading (serializable) or watching through the same node sees
   * its own write. Past it the write is acknowledged anyway: it is durable in etcd.
   */
  upstreamWriteVisibleWaitMs: 2_000,

  // --- auth ---
  /** s: life of a simple token since its last use, etcd's --auth-token-ttl default. */
  authTokenTtlSeconds: 300,
  /** ms: life of a JWT token from its signing when --auth-token gives no ttl (etcd's default). */
  authJwtTtlMs: 300_000,
  /** tokens: JWTs whose signature check is remembered (dropped all at once when full). */
  authJwtVerifiedTokens: 4096,
  /** scrypt N (CPU/memory cost, a power of 2): ~50 ms per hash on one core, off the event loop. */
  authScryptCost: 16384,
  /** hashes: most password hashes running at once (libuv's pool has 4 threads; the backend needs some). */
  authHashConcurrency: 2,
});

export type Defaults = typeof DEFAULTS;

/** The server's settings: DEFAULTS overridden by flags, environment and config file (cli-options.ts). */
export interface ServerConfig {
  /** Comma-separated http:// or https:// URLs; the server listens on every one (etcd's --listen-client-urls). */
  listenClientUrls: string;
  /**
   * URLs clients are told to use (member list's clientURLs: etcd's --advertise-client-urls);
   * empty = the listeners' own addresses.
   */
  advertiseClientUrls: string[];
  /** Member name reported by /v3/cluster/member/list (etcd's --name). */
  name: string;
  dataDir: string;
  logLevel: string;
  progressNotifyIntervalMs: number;
  maxRequestBytes: number;
  /** bytes: largest HTTP body or WebSocket frame: always bodyLimitBytes(maxRequestBytes). */
  maxBodyBytes: number;
  maxTxnOps: number;
  /** bytes: the store's space quota (etcd's --quota-backend-bytes); 0 on the command line = the default. */
  quotaBackendBytes: number;
  maxWatchersPerStream: number;
  maxWatchStreams: number;
  watchHistoryBytes: number;
  wsHighWaterBytes: number;
  wsMaxUnreadableMs: number;
  shutdownGraceMs: number;
  autoCompactionMode: 'periodic' | 'revision';
  /** Who frames HTTP/2 (DEFAULTS.h2Framing). */
  h2Framing: 'own' | 'node';
  /** periodic: ms of history kept; revision: revisions kept; 0 = off. */
  autoCompactionRetention: number;
  autoCompactionRevisionIntervalMs: number;
  sseProgressIntervalMs: number;
  sseHeartbeatIntervalMs: number;
  /** etcd's --cors: origins (besides the server's own) whose browser pages may call the API; '*' = any. */
  cors: string[];
  /** s: a simple token's life since its last use (etcd's --auth-token-ttl). */
  authTokenTtlSeconds: number;
  /** etcd's --auth-token: in-memory simple tokens, or signed JWTs (src/auth/jwt-tokens.ts). */
  authToken: AuthTokenConfig;
  /** TLS (https:// listen URL): PEM certificate chain and key files (etcd's --cert-file, --key-file). */
  certFile?: string;
  keyFile?: string;
  /** PEM CA bundle that client certificates must chain to (etcd's --trusted-ca-file). */
  trustedCaFile?: string;
  /** Require a client certificate signed by trustedCaFile; its CN is the user (etcd's --client-cert-auth). */
  clientCertAuth: boolean;
  /**
   * Upstream mode: etcd members (http:// URLs) this node mirrors instead of keeping a store of
   * its own; empty = the normal single-node store.
   */
  upstreamEndpoints: string[];
  /** Upstream mode: the key prefix mirrored ('' = the whole keyspace). */
  upstreamPrefix: string;
  /** Extra http:// listeners serving only /metrics and /health (etcd's --listen-metrics-urls). */
  listenMetricsUrls?: string[];
  /** etcd flags given that have no effect here (etcd-flags.ts), for the start-up warning. */
  ignoredEtcdFlags?: string[];
}

/** JWS algorithms etcd 3.4 accepts in --auth-token's sign-method. */
export const JWT_SIGN_METHODS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'] as const;
export type JwtSignMethod = (typeof JWT_SIGN_METHODS)[number];

/**
 * etcd's --auth-token, parsed (src/auth/token-config.ts): `simple`, or `jwt` with its key files
 * (PEM; HS* take the priv-key file's bytes as the secret) and the tokens' life.
 */
export type AuthTokenConfig =
  | { kind: 'simple' }
  | { kind: 'jwt'; signMethod: JwtSignMethod; privateKeyFile?: string; publicKeyFile?: string; ttlMs: number };
