/**
 * Server configuration from command-line flags, WATCHKV_* environment variables and an optional
 * YAML config file (config-file.ts), in that order of precedence, on top of DEFAULTS. Bad values throw ConfigError; server.ts prints it and exits with code 2.
 */
import { parseArgs } from 'node:util';
import { bodyLimitBytes, DEFAULTS, type ServerConfig } from './config.ts';
import { ConfigFileError, readConfigFile } from './config-file.ts';
import { parseAuthToken, TokenConfigError } from './auth/token-config.ts';
import { ETCD_BOOLEAN_FLAGS, ETCD_FLAGS, EtcdFlagError, etcdFlagEffects, normalizeBooleans, withEtcdEnv } from './etcd-flags.ts';


export class ConfigError extends Error {}

export const HELP = `Usage: watchkv [flags]   (each flag also reads the environment variable shown, else etcd's ETCD_* name)

  --listen-client-urls URLS       where to listen: comma-separated http:// or https:// URLs, each
                                  serving everything (WATCHKV_LISTEN_CLIENT_URLS)  default ${DEFAULTS.listenClientUrls}
  --advertise-client-urls URLS    the URLs member list gives clients, when they differ from where
                                  it listens (0.0.0.0, NAT, a proxy) (WATCHKV_ADVERTISE_CLIENT_URLS)
  --listen-metrics-urls URLS      extra http:// URLs serving only GET /metrics and /health, as etcd's
                                  (a liveness probe and Prometheus off the client port) (WATCHKV_LISTEN_METRICS_URLS)
  --name NAME                     member name in /v3/cluster/member/list, as etcd's --name (WATCHKV_NAME)  default ${DEFAULTS.memberName}
  --data-dir DIR                  LevelDB data directory (WATCHKV_DATA_DIR)      default ${DEFAULTS.dataDir}
  --progress-notify-interval DUR  periodic watch progress, e.g. 600000, 10m, 5s (WATCHKV_PROGRESS_NOTIFY_INTERVAL)  default 10m
  --max-request-bytes N           largest put/txn request (WATCHKV_MAX_REQUEST_BYTES)  default ${DEFAULTS.maxRequestBytes}
  --max-txn-ops N                 most operations in one txn (WATCHKV_MAX_TXN_OPS)     default ${DEFAULTS.maxTxnOps}
  --quota-backend-bytes N         data directory size at which writes are refused and the NOSPACE
                                  alarm is raised; 0 = the default (WATCHKV_QUOTA_BACKEND_BYTES)  default ${DEFAULTS.quotaBackendBytes}
  --max-watchers-per-stream N     most watchers per watch stream (WATCHKV_MAX_WATCHERS_PER_STREAM)  default ${DEFAULTS.maxWatchersPerStream}
  --max-watch-streams N           most concurrent watch streams (WATCHKV_MAX_WATCH_STREAMS)  default ${DEFAULTS.maxWatchStreams}
  --watch-history-bytes N         recent events kept in memory for catch-up, 0 = none (WATCHKV_WATCH_HISTORY_BYTES)  default ${DEFAULTS.watchHistoryBytes}
  --auto-compaction-mode MODE     periodic (keep a time span) or revision (keep N revisions) (WATCHKV_AUTO_COMPACTION_MODE)  default periodic
  --auto-compaction-retention R   periodic: 1h, 30m, 90s or a bare number of hours; revision: N revisions; 0 = off (WATCHKV_AUTO_COMPACTION_RETENTION)  default 0
  --sse-progress-interval DUR     progress event on an idle SSE watch (WATCHKV_SSE_PROGRESS_INTERVAL)  default 30s
  --sse-heartbeat-interval DUR    comment heartbeat on a silent SSE watch (WATCHKV_SSE_HEARTBEAT_INTERVAL)  default 15s
  --cors ORIGINS                  comma-separated origins whose pages may call the API, '*' = any;
                                  other Origins get 403, the server's own always works (WATCHKV_CORS)
  --auth-token TYPE               simple, or jwt,sign-method=RS256,priv-key=FILE[,pub-key=FILE][,ttl=5m]
                                  (RS/PS/ES/HS 256/384/512; pub-key alone verifies only) (WATCHKV_AUTH_TOKEN)  default simple
  --auth-token-ttl SECONDS        life of a simple token since its last use (WATCHKV_AUTH_TOKEN_TTL)  default ${DEFAULTS.authTokenTtlSeconds}
  --cert-file FILE                TLS certificate (PEM) for an https:// listen URL (WATCHKV_CERT_FILE)
  --key-file FILE                 TLS private key (PEM) (WATCHKV_KEY_FILE)
  --trusted-ca-file FILE          CA bundle (PEM) client certificates must chain to (WATCHKV_TRUSTED_CA_FILE)
  --client-cert-auth              require a client certificate; its CN is the user when auth is on (WATCHKV_CLIENT_CERT_AUTH)
  --upstream-endpoints URLS       fan-out tier over an etcd cluster: comma-separated member URLs
                                  (http://h1:2379,...); no local store, writes go to etcd (WATCHKV_UPSTREAM_ENDPOINTS)
  --upstream-prefix PREFIX        with --upstream-endpoints: mirror only keys under PREFIX (WATCHKV_UPSTREAM_PREFIX)
  --h2-framing own|node           HTTP/2 (gRPC) framed by watchkv's own layer (faster unary calls),
                                  or by Node's http2 alone (WATCHKV_H2_FRAMING)  default own
  --log-level LEVEL               fatal|error|warn|info|debug|trace|silent (WATCHKV_LOG_LEVEL)  default ${DEFAULTS.logLevel}
  --config-file FILE              YAML file whose keys are these flags' names, e.g. data-dir: /x;
                                  flags and environment win over it (WATCHKV_CONFIG_FILE)
  etcd's other server flags       a single-member etcd's command line works as it is: raft, peer,
                                  WAL and bbolt tuning flags are accepted with no effect (one warning
                                  at start names them); --experimental-watch-progress-notify-interval
                                  and --debug mean what they mean there; asking for several members,
                                  joining a cluster, v2 or --auto-tls is refused, saying why
  --version                       print the version and exit
  --help                          print this help
`;

const FLAGS = {
  'listen-client-urls': { type: 'string' },
  'advertise-client-urls': { type: 'string' },
  'listen-metrics-urls': { type: 'string' },
  'data-dir': { type: 'string' },
  name: { type: 'string' },
  'progress-notify-interval': { type: 'string' },
  'max-request-bytes': { type: 'string' },
  'max-txn-ops': { type: 'string' },
  'quota-backend-bytes': { type: 'string' },
  'max-watchers-per-stream': { type: 'string' },
  'max-watch-streams': { type: 'string' },
  'watch-history-bytes': { type: 'string' },
  'log-level': { type: 'string' },
  'h2-framing': { type: 'string' },
  'auto-compaction-mode': { type: 'string' },
  'auto-compaction-retention': { type: 'string' },
  'config-file': { type: 'string' },
  'sse-progress-interval': { type: 'string' },
  'sse-heartbeat-interval': { type: 'string' },
  cors: { type: 'string' },
  'auth-token': { type: 'string' },
  'auth-token-ttl': { type: 'string' },
  'cert-file': { type: 'string' },
  'key-file': { type: 'string' },
  'trusted-ca-file': { type: 'string' },
  'client-cert-auth': { type: 'boolean' },
  'upstream-endpoints': { type: 'string' },
  'upstream-prefix': { type: 'string' },
  help: { type: 'boolean' },
  version: { type: 'boolean' },
} as const;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function duration(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new ConfigError(`--${flag}: "${v}" is not a duration (use e.g. 500, 500ms, 5s, 10m)`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new ConfigError(`--${flag}: "${v}" is not a positive integer`);
  return n;
}

function nonNegativeInt(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new ConfigError(`--${flag}: "${v}" is not a non-negative integer`);
  return n;
}

/**
 * etcd's rule (embed/etcd.go parseCompactionRetention): a bare non-negative integer is hours in
 * periodic mode and revisions in revision mode; anything else must be a duration (periodic only).
 */
function compactionRetention(mode: 'periodic' | 'revision', v: string): number {
  const flag = 'auto-compaction-retention';
  if (/^\d+$/.test(v.trim())) {
    const n = nonNegativeInt(flag, v);
    return mode === 'periodic' ? n * UNITS.h! : n;
  }
  if (mode === 'revision') throw new ConfigError(`--${flag}: "${v}" is not a number of revisions (revision mode)`);
  return duration(flag, v);
}

/** Parses etcd's `--cors` value: comma-separated origins, normalised (no trailing slash). */
function parseCorsOrigins(value: string): string[] {
  return value
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o.length > 0)
    .map((o) => (o === '*' ? o : o.replace(/\/+$/, '').toLowerCase()));
}

function corsOrigins(v: string): string[] {
  const list = parseCorsOrigins(v);
  for (const o of list) {
    if (o === '*') continue;
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      throw new ConfigError(`--cors: "${o}" is not an origin (use e.g. https://app.example.com or *)`);
    }
    if (u.origin.toLowerCase() !== o) throw new ConfigError(`--cors: "${o}" is not an origin (scheme://host[:port], no path)`);
  }
  return list;
}

/** Returns the config, or 'help' / 'version' when --help / --version was given. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | 'help' | 'version' {
  let values: Record<string, string | boolean | undefined>;
  let falses: Set<string>;
  try {
    const normal = normalizeBooleans(argv, ETCD_BOOLEAN_FLAGS);
    falses = normal.falses;
    values = parseArgs({ args: normal.argv, options: { ...ETCD_FLAGS, ...FLAGS }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  // WATCHKV_NAME, then etcd's own ETCD_NAME (a container set up for etcd works unchanged).
  const envOf = (flag: string): string | undefined => {
    const key = flag.toUpperCase().replaceAll('-', '_');
    return env[`WATCHKV_${key}`] || env[`ETCD_${key}`] || undefined;
  };
  const configFile = typeof values['config-file'] === 'string' ? values['config-file'] : envOf('config-file');
  let fromFile: Record<string, string> = {};
  if (configFile !== undefined) {
    const known = Object.entries(FLAGS).flatMap(([name, o]) => (o.type === 'string' && name !== 'config-file' ? [name] : []));
    try {
      fromFile = readConfigFile(configFile, known);
    } catch (err) {
      if (err instanceof ConfigFileError) throw new ConfigError(err.message);
      throw err;
    }
  }
  const get = (flag: keyof typeof FLAGS): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string') return v;
    return envOf(flag) ?? fromFile[flag];
  };
  const num = (flag: keyof typeof FLAGS, def: number): number => {
    const v = get(flag);
    return v === undefined ? def : positiveInt(flag, v);
  };
  const count = (flag: keyof typeof FLAGS, def: number): number => {
    const v = get(flag);
    return v === undefined ? def : nonNegativeInt(flag, v);
  };

  const listenClientUrls = clientUrls('listen-client-urls', get('listen-client-urls') ?? DEFAULTS.listenClientUrls).join(',');
  const advertise = get('advertise-client-urls');
  const advertiseClientUrls = advertise === undefined ? [] : clientUrls('advertise-client-urls', advertise);
  const metrics = get('listen-metrics-urls');
  const listenMetricsUrls = metrics === undefined ? [] : clientUrls('listen-metrics-urls', metrics);
  if (listenMetricsUrls.some((u) => u.startsWith('https:'))) throw new ConfigError('--listen-metrics-urls: only http:// URLs are supported');
  const certFile = get('cert-file');
  const keyFile = get('key-file');
  const trustedCaFile = get('trusted-ca-file');
  const cca = values['client-cert-auth'] === true || (!falses.has('client-cert-auth') && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(envOf('client-cert-auth') ?? fromFile['client-cert-auth'] ?? ''));
  const tls = listenClientUrls.split(',').some((u) => u.startsWith('https:'));
  if (tls && (certFile === undefined || keyFile === undefined)) throw new ConfigError('--listen-client-urls: an https:// URL needs --cert-file and --key-file');
  if (cca && !tls) throw new ConfigError('--client-cert-auth needs an https:// --listen-client-urls');
  if (cca && trustedCaFile === undefined) throw new ConfigError('--client-cert-auth needs --trusted-ca-file');
  const name = get('name') ?? DEFAULTS.memberName;
  let etcd;
  try {
    etcd = etcdFlagEffects(withEtcdEnv(values, falses, env), falses, name);
  } catch (err) {
    if (err instanceof EtcdFlagError) throw new ConfigError(err.message);
    throw err;
  }
  const logLevel = get('log-level') ?? etcd.logLevel ?? DEFAULTS.logLevel;
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError(`--log-level: "${logLevel}" is not one of fatal, error, warn, info, debug, trace, silent`);
  }
  const pni = get('progress-notify-interval');
  const progressNotifyIntervalMs = pni === undefined ? (etcd.progressNotifyIntervalMs ?? DEFAULTS.progressNotifyIntervalMs) : duration('progress-notify-interval', pni);
  if (progressNotifyIntervalMs < DEFAULTS.minProgressNotifyIntervalMs) {
    throw new ConfigError(`--progress-notify-interval: must be at least ${DEFAULTS.minProgressNotifyIntervalMs}ms`);
  }
  const maxRequestBytes = num('max-request-bytes', DEFAULTS.maxRequestBytes);
  const autoCompactionMode = get('auto-compaction-mode') ?? DEFAULTS.autoCompactionMode;
  if (autoCompactionMode !== 'periodic' && autoCompactionMode !== 'revision') {
    throw new ConfigError(`--auto-compaction-mode: "${autoCompactionMode}" is not one of periodic, revision`);
  }
  const retention = get('auto-compaction-retention');
  const h2Framing = get('h2-framing') ?? DEFAULTS.h2Framing;
  if (h2Framing !== 'own' && h2Framing !== 'node') throw new ConfigError(`--h2-framing: "${h2Framing}" is not one of own, node`);
  const interval = (flag: 'sse-progress-interval' | 'sse-heartbeat-interval', def: number): number => {
    const v = get(flag);
    const ms = v === undefined ? def : duration(flag, v);
    if (ms < DEFAULTS.minProgressNotifyIntervalMs) throw new ConfigError(`--${flag}: must be at least ${DEFAULTS.minProgressNotifyIntervalMs}ms`);
    return ms;
  };
  const upstreamEndpoints = upstreamUrls(get('upstream-endpoints'));
  const upstreamPrefix = get('upstream-prefix');
  if (upstreamPrefix !== undefined && upstreamEndpoints.length === 0) throw new ConfigError('--upstream-prefix needs --upstream-endpoints');
  if (upstreamEndpoints.length > 0 && retention !== undefined && retention !== '0') {
    throw new ConfigError('--auto-compaction-retention: with --upstream-endpoints compaction is the etcd cluster\'s (set it on etcd)');
  }
  return {
    listenClientUrls,
    advertiseClientUrls,
    listenMetricsUrls,
    name,
    dataDir: get('data-dir') ?? DEFAULTS.dataDir,
    logLevel,
    progressNotifyIntervalMs,
    maxRequestBytes,
    maxBodyBytes: bodyLimitBytes(maxRequestBytes),
    maxTxnOps: num('max-txn-ops', DEFAULTS.maxTxnOps),
    // As etcd: 0 means the default quota.
    quotaBackendBytes: count('quota-backend-bytes', 0) || DEFAULTS.quotaBackendBytes,
    maxWatchersPerStream: num('max-watchers-per-stream', DEFAULTS.maxWatchersPerStream),
    maxWatchStreams: num('max-watch-streams', DEFAULTS.maxWatchStreams),
    watchHistoryBytes: count('watch-history-bytes', DEFAULTS.watchHistoryBytes),
    wsHighWaterBytes: DEFAULTS.wsHighWaterBytes,
    wsMaxUnreadableMs: DEFAULTS.wsMaxUnreadableMs,
    shutdownGraceMs: DEFAULTS.shutdownGraceMs,
    autoCompactionMode,
    h2Framing,
    autoCompactionRetention: retention === undefined ? DEFAULTS.autoCompactionRetention : compactionRetention(autoCompactionMode, retention),
    autoCompactionRevisionIntervalMs: DEFAULTS.autoCompactionRevisionIntervalMs,
    sseProgressIntervalMs: interval('sse-progress-interval', DEFAULTS.sseProgressIntervalMs),
    sseHeartbeatIntervalMs: interval('sse-heartbeat-interval', DEFAULTS.sseHeartbeatIntervalMs),
    cors: corsOrigins(get('cors') ?? ''),
    authTokenTtlSeconds: num('auth-token-ttl', DEFAULTS.authTokenTtlSeconds),
    authToken: authToken(get('auth-token') ?? 'simple'),
    certFile,
    keyFile,
    trustedCaFile,
    clientCertAuth: cca,
    upstreamEndpoints,
    upstreamPrefix: upstreamPrefix ?? '',
    ignoredEtcdFlags: etcd.ignored,
  };
}

/**
 * --listen-client-urls / --advertise-client-urls: one or more http:// or https:// URLs with a
 * host and nothing after the port, as `scheme://host:port` (the scheme's port when none is given).
 */
function clientUrls(flag: string, v: string): string[] {
  const list = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (list.length === 0) throw new ConfigError(`--${flag}: no URL given (use e.g. http://127.0.0.1:2379)`);
  const out = list.map((u) => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new ConfigError(`--${flag}: "${u}" is not a URL (use e.g. http://127.0.0.1:2379)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`--${flag}: only http:// and https:// URLs are supported, got "${u}"`);
    if (url.hostname === '') throw new ConfigError(`--${flag}: "${u}" has no host`);
    if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
      throw new ConfigError(`--${flag}: "${u}" has more than scheme://host:port`);
    }
    return url.origin;
  });
  // Port 0 (any free port) may be asked for more than once.
  const dup = out.find((u, i) => out.indexOf(u) !== i && !u.endsWith(':0'));
  if (dup !== undefined) throw new ConfigError(`--${flag}: ${dup} is given twice`);
  return out;
}

function authToken(v: string): ServerConfig['authToken'] {
  try {
    return parseAuthToken(v);
  } catch (err) {
    if (err instanceof TokenConfigError) throw new ConfigError(`--auth-token: ${err.message}`);
    throw err;
  }
}

/** --upstream-endpoints: http:// member URLs (no path), or none. */
function upstreamUrls(v: string | undefined): string[] {
  if (v === undefined) return [];
  const list = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (list.length === 0) throw new ConfigError('--upstream-endpoints: no URL given (use e.g. http://10.0.0.1:2379,http://10.0.0.2:2379)');
  return list.map((u) => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new ConfigError(`--upstream-endpoints: "${u}" is not a URL (use e.g. http://10.0.0.1:2379)`);
    }
    if (url.protocol !== 'http:') throw new ConfigError(`--upstream-endpoints: only http:// member URLs are supported, got "${u}"`);
    if (!url.port) throw new ConfigError(`--upstream-endpoints: "${u}" has no port (etcd clients use 2379)`);
    if (url.pathname !== '/' || url.search) throw new ConfigError(`--upstream-endpoints: "${u}" has a path; give scheme://host:port only`);
    return `http://${url.host}`;
  });
}

/** The DEFAULTS-only config, for tests to override field by field. */
export function defaultConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  const c = { ...(loadConfig([], {}) as ServerConfig), ...overrides };
  if (overrides.maxBodyBytes === undefined) c.maxBodyBytes = bodyLimitBytes(c.maxRequestBytes);
  return c;
}
