/**
 * Entry point: load config → open LevelDB → store → lessor → watch engine → app → listen (HTTP
 * and gRPC on one port); close gracefully on SIGINT/SIGTERM (stop accepting, close watch sockets
 * with 1001 and gRPC streams with UNAVAILABLE, let in-flight requests finish, stop the lessor's
 * expiry, close the store). `startServer` is what the e2e tests use.
 */
import os from 'node:os';
import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { pathToFileURL } from 'node:url';
import type { FastifyBaseLogger } from 'fastify';
import pinoPretty from 'pino-pretty';
import type { Backend } from './backend/backend.ts';
import { LevelBackend } from './backend/level-backend.ts';
import { openKvStore } from './mvcc/kv-store.ts';
import { WatchableStore } from './watch/watchable-store.ts';
import { openLessor, type LessorImpl } from './lease/lessor.ts';
import { buildApp, closeWatchConnections } from './app.ts';
import { ConfigError, HELP, defaultConfig, loadConfig } from './cli-options.ts';
import { loadIdentity, randomIdentity } from './api/identity.ts';
import type { ListenTargets, ListenTls } from './api/listener.ts';
import { isWildcardUrl, listenClientUrls, type ClientListeners } from './api/client-listeners.ts';
import { listenMetricsUrls, type MetricsListeners } from './api/metrics-listener.ts';
import { TlsFiles } from './api/security/tls-files.ts';
import { watchkvVersion } from './version.ts';
import { bodyLimitBytes, DEFAULTS, type ServerConfig } from './config.ts';
import { startCompactor } from './compactor/compactor.ts';
import { openAuthStore, type AuthStore } from './auth/auth-store.ts';
import type { KV } from './mvcc/kv.ts';
import type { Lessor } from './lease/lease-api.ts';
import type { SnapshotSource } from './snapshot/snapshot-writer.ts';
import { openUpstreamNode } from './upstream/upstream-node.ts';
import type { UpstreamMonitor } from './upstream/upstream-api.ts';

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:2379: the first listen URL, bound. */
  address: string;
  /** Every bound listen URL, in --listen-client-urls order (address first). */
  addresses: string[];
  /** --listen-metrics-urls as bound (port 0 resolved). */
  metricsUrls: string[];
  /** The store clients read and write (local, or the upstream mirror). */
  store: KV;
  /** The watch engine over it. */
  engine: WatchableStore;
  lessor: Lessor;
  /** Upstream mode only: how far the node's mirror is behind etcd. */
  upstream?: UpstreamMonitor;
  /** The server's logger (pino), for lines about the process around it. */
  log: FastifyBaseLogger;
  /** gRPC's direct paths (src/api/grpc/fast-unary.ts, fast-watch.ts): in place, and what they served. */
  grpcDirect: { attached: boolean; served: { count: number }; watchStreams: { count: number } };
  close(): Promise<void>;
}

export interface StartOptions {
  /** Human-readable log lines (pino-pretty) instead of JSON; for a terminal. */
  prettyLogs?: boolean;
}

/** Starts a server (missing config fields take DEFAULTS); `backend` overrides the LevelBackend on config.dataDir (tests: MemoryBackend). */
export async function startServer(partial: Partial<ServerConfig>, backend?: Backend, options: StartOptions = {}): Promise<RunningServer> {
  const config = defaultConfig(partial);
  const upstreamMode = config.upstreamEndpoints.length > 0;
  const identity = backend || upstreamMode ? randomIdentity() : await loadIdentity(resolve(config.dataDir));
  const logStream = options.prettyLogs ? pinoPretty({ sync: true, translateTime: 'SYS:standard', ignore: 'pid,hostname' }) : undefined;
  // The app's logger exists only once the store is open; a long open reports through its own.
  const openLog = logStream ? pino({ level: config.logLevel }, logStream) : pino({ level: config.logLevel });
  const base = upstreamMode ? await openUpstream(config, openLog) : await openLocal(config, openLog, backend, BigInt(identity.memberId));
  const { kv: store, lessor, auth } = base;
  const engine = new WatchableStore(store, {
    // etcd splits at its request limit plus gRPC's overhead allowance, as for request bodies.
    watchFragmentBytes: bodyLimitBytes(config.maxRequestBytes),
    maxWatchersPerStream: config.maxWatchersPerStream,
    progressNotifyIntervalMs: config.progressNotifyIntervalMs,
    watchHistoryBytes: config.watchHistoryBytes,
  });
  let app;
  let listener: ClientListeners;
  let metricsListeners: MetricsListeners | undefined;
  try {
    app = await buildApp({ kv: store, engine, lessor, auth, config, identity, logStream, snapshots: base.snapshots, upstream: base.upstream });
    await app.fastify.ready();
    // Each port serves both: HTTP/1.1 (gateway, WebSocket) to fastify, HTTP/2 prefaces to gRPC.
    const grpc = app.grpc;
    const targets: ListenTargets = { http: app.fastify.server, grpc: (s) => grpc.injector.injectConnection(s), h2: grpc.acceptH2 };
    const tls = listenTls(config, app.fastify.log);
    listener = await listenClientUrls(config.listenClientUrls.split(','), targets, tls);
    app.ctx.tls = tls?.files;
    const bound = listener;
    if (config.listenMetricsUrls?.length) {
      metricsListeners = await listenMetricsUrls(config.listenMetricsUrls, app.fastify).catch((err: unknown) => {
        bound.destroyAll();
        throw err;
      });
    }
  } catch (err) {
    auth.close();
    await lessor.close();
    await engine.close();
    await store.close();
    await base.close();
    throw err;
  }
  const { fastify, grpc, ctx } = app;
  const address = listener.urls[0]!;
  ctx.advertised.clientUrls = config.advertiseClientUrls.length > 0 ? config.advertiseClientUrls : listener.urls;
  if (config.ignoredEtcdFlags?.length) {
    fastify.log.warn({ flags: config.ignoredEtcdFlags }, `etcd flags accepted with no effect (one member, no raft, no WAL or bbolt to tune): ${config.ignoredEtcdFlags.join(' ')}`);
  }
  for (const u of ctx.advertised.clientUrls.filter(isWildcardUrl)) {
    fastify.log.warn({ url: u }, 'member list advertises a wildcard address that clients elsewhere cannot dial: set --advertise-client-urls');
  }
  // In upstream mode compaction is the etcd cluster's (cli-options refuses a retention).
  const compactor = upstreamMode ? undefined : startCompactor(store, fastify.log, {
    mode: config.autoCompactionMode,
    retention: config.autoCompactionRetention,
    revisionIntervalMs: config.autoCompactionRevisionIntervalMs,
  });
  // Every bound URL when there are several (`address` stays the first: scripts read it).
  const others = { ...(listener.urls.length > 1 ? { addresses: listener.urls } : {}), ...(metricsListeners ? { metricsUrls: metricsListeners.urls } : {}) };
  fastify.log.info(
    upstreamMode
      ? { address, ...others, upstream: config.upstreamEndpoints, prefix: config.upstreamPrefix, revision: store.currentRevision() }
      : { address, ...others, dataDir: backend ? '(memory)' : resolve(config.dataDir), revision: store.currentRevision() },
    'watchkv started',
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      listener.stopAccepting();
      await metricsListeners?.close();
      compactor?.stop();
      closeWatchConnections(ctx);
      // fastify.close and the gRPC shutdown wait for in-flight requests (commits) to answer.
      const grace = new Promise<void>((r) => setTimeout(r, config.shutdownGraceMs).unref());
      await Promise.race([Promise.all([fastify.close(), listener.drainHttp(), grpc.close(config.shutdownGraceMs)]), grace]);
      listener.destroyAll();
      auth.close();
      await lessor.close(); // no expiry revoke may start on a closing store
      await engine.close();
      await store.close();
      await base.close();
      fastify.log.info({ revision: store.currentRevision() }, 'watchkv stopped');
    })());
  return { address, addresses: listener.urls, metricsUrls: metricsListeners?.urls ?? [], store, engine, lessor, upstream: base.upstream, log: fastify.log, grpcDirect: grpc.fastUnary, close };
}

/** What the engine and the app are built on: a local store, or a mirror of an etcd cluster. */
interface Base {
  kv: KV;
  lessor: Lessor;
  auth: AuthStore;
  snapshots?: SnapshotSource;
  upstream?: UpstreamMonitor;
  /** Closes what closing kv does not. */
  close(): Promise<void>;
}

async function openLocal(config: ServerConfig, openLog: Logger, backend: Backend | undefined, memberId: bigint): Promise<Base> {
  const kv = await openKvStore(backend ?? new LevelBackend(resolve(config.dataDir)), {
    maxRequestBytes: config.maxRequestBytes,
    maxTxnOps: config.maxTxnOps,
    quotaBackendBytes: config.quotaBackendBytes,
    memberId,
    onRestoreProgress: ({ phase, records, keys, elapsedMs, checkpointRejected }) => {
      const fields = { records, keys, elapsedMs: Math.round(elapsedMs), ...(checkpointRejected ? { checkpointRejected } : {}) };
      if (phase === 'checkpoint') openLog.info(fields, 'opening store: index checkpoint loaded, reading the records after it');
      else if (phase === 'scan') openLog.info(fields, 'opening store: reading records');
      else openLog.info(fields, 'store opened');
    },
  });
  let lessor: LessorImpl;
  try {
    lessor = await openLessor(kv);
  } catch (err) {
    await kv.close();
    throw err;
  }
  let auth: AuthStore;
  try {
    auth = await openAuthStore(kv, { tokenTtlSeconds: config.authTokenTtlSeconds, token: config.authToken });
  } catch (err) {
    await lessor.close();
    await kv.close();
    throw err;
  }
  return { kv, lessor, auth, snapshots: kv, close: async () => undefined };
}

/** Upstream mode (--upstream-endpoints): no local store; src/upstream mirrors the etcd cluster. */
async function openUpstream(config: ServerConfig, openLog: Logger): Promise<Base> {
  const node = await openUpstreamNode({
    endpoints: config.upstreamEndpoints,
    prefix: config.upstreamPrefix,
    authTokenTtlSeconds: config.authTokenTtlSeconds,
    authToken: config.authToken,
    log: (level, fields, msg) => openLog[level](fields, msg),
  });
  return { kv: node.kv, lessor: node.lessor, auth: node.auth, upstream: node.monitor, close: () => node.close() };
}

/**
 * TLS files of an https:// listen URL: read at start (a bad path or a key that is not the
 * certificate's fails the start, naming it), then again whenever they change (tls-files.ts).
 */
function listenTls(config: ServerConfig, log: FastifyBaseLogger): (ListenTls & { files: TlsFiles }) | undefined {
  if (!config.listenClientUrls.split(',').some((u) => u.startsWith('https:'))) return undefined;
  const paths = { certFile: config.certFile!, keyFile: config.keyFile!, trustedCaFile: config.trustedCaFile };
  const files = TlsFiles.load(paths, (level, fields, msg) => log[level](fields, msg));
  return { source: files, files, clientCertAuth: config.clientCertAuth };
}

/**
 * The command: parse flags, start, and stop on SIGINT/SIGTERM. The first signal stops
 * gracefully; a second one during that shutdown exits at once with 128 + the signal's number
 * (a repeat within DEFAULTS.signalRepeatIgnoreMs is the same Ctrl-C reaching us twice: ignored).
 * Exiting at any point loses no acknowledged write (each is fsynced before it is acknowledged,
 * and LevelDB drops a torn log tail at the next open), so the fast path only gives up waiting.
 */
export async function runServer(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  let config: ServerConfig | 'help' | 'version';
  try {
    config = loadConfig(argv, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`watchkv: ${err.message}\n\n${HELP}`);
    process.exit(2);
  }
  if (config === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (config === 'version') {
    process.stdout.write(`watchkv ${watchkvVersion()}\n`);
    return;
  }
  // Pretty lines for a person at a terminal; JSON lines for anything that collects logs.
  const server = await startServer(config, undefined, { prettyLogs: process.stdout.isTTY === true });
  let stopping = false;
  let firstSignalAt = 0;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      if (Date.now() - firstSignalAt < DEFAULTS.signalRepeatIgnoreMs) return; // one Ctrl-C, delivered twice
      server.log.warn({ signal }, 'watchkv: second signal, exiting now (acknowledged writes are already on disk)');
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    }
    stopping = true;
    firstSignalAt = Date.now();
    server.log.info({ signal }, 'watchkv stopping');
    server.close().then(
      () => process.exit(0),
      (err) => {
        server.log.error({ err }, 'watchkv: shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runServer(process.argv.slice(2), process.env).catch((err) => {
    console.error('watchkv: failed to start:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
