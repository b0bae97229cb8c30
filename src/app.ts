/**
 * buildApp: fastify + the etcd gateway routes, and etcd's gRPC services, over a store and a watch
 * engine. Never listens (server.ts does, both on one port), so tests can build it around any
 * KV/engine.
 *
 * Bodies: etcd clients send JSON with any content type (curl -d says form-urlencoded), so one
 * catch-all parser hands every body to the routes as a string; json.ts decodes it. Every error
 * goes through error-map.ts; unknown paths answer 404 "Not Found" and a wrong method 405, as
 * the gateway does.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import websocket from '@fastify/websocket';
import { etcdMethodNotAllowed } from './api/ws/not-an-upgrade.ts';
import type { KV } from './mvcc/kv.ts';
import { DEFAULTS } from './config.ts';
import type { WatchEngine } from './watch/watch-api.ts';
import type { Lessor } from './lease/lease-api.ts';
import type { ServerConfig } from './config.ts';
import { encodeEvent, type Identity } from './api/json.ts';
import { IdleEncoder } from './api/idle-encoder.ts';
import { eventCost } from './watch/recent-history.ts';
import type { ApiContext } from './api/context.ts';
import { errorBody, mapError, WS_CLOSE } from './api/error-map.ts';
import { sendJson } from './api/send-json.ts';
import { kvRoutes } from './api/routes/kv.ts';
import { healthRoutes } from './api/routes/health.ts';
import { clusterRoutes } from './api/routes/cluster.ts';
import { httpWatchRoute } from './api/routes/watch-http.ts';
import { wsWatchRoute } from './api/ws/route.ts';
import { buildGrpcServer, type GrpcApi } from './api/grpc/grpc-server.ts';
import { leaseRoutes } from './api/routes/lease.ts';
import { leaseKeepAliveRoutes } from './api/routes/lease-keepalive.ts';
import { clientBundleRoute } from './api/routes/client-bundle.ts';
import { accessLog } from './api/access-log.ts';
import { restKvRoutes } from './api/rest/kv-routes.ts';
import { routableUrl } from './api/rest/key-path.ts';
import { gatewayUrl } from './api/gateway-alias.ts';
import { sseWatchRoute } from './api/watch/sse-route.ts';
import { WatchStreamStats } from './api/watch/stream-stats.ts';
import { metricsRoutes } from './api/metrics.ts';
import { uiRoutes } from './api/ui-route.ts';
import { docsRoutes } from './api/docs-route.ts';
import { browserGuard } from './api/security/browser-guard.ts';
import { routeAuth } from './api/security/request-auth.ts';
import { authRoutes } from './api/routes/auth.ts';
import type { AuthStore } from './auth/auth-store.ts';
import { snapshotRoute } from './api/routes/maintenance-snapshot.ts';
import { maintenanceRoutes } from './api/routes/maintenance.ts';
import type { SnapshotSource } from './snapshot/snapshot-writer.ts';
import type { QueueService } from './queue/queue-api.ts';
import { openQueues } from './queue/queue-service.ts';
import { queueRoutes } from './api/queue/queue-routes.ts';
import { queueConsumeRoute } from './api/queue/queue-consume.ts';
import type { UpstreamMonitor } from './upstream/upstream-api.ts';

/** etcd's plain GET endpoints: another method is its 405 with `Allow: GET` (HEAD stays served). */
const ETCD_GET_ONLY = new Set(['/health', '/version']);

export interface AppDeps {
  kv: KV;
  engine: WatchEngine;
  lessor: Lessor;
  auth: AuthStore;
  config: ServerConfig;
  identity: Identity;
  /** Work queues; when absent buildApp opens them over `kv` and closes them with the app. */
  queues?: QueueService;
  /** Upstream mode: the mirror's lag behind etcd, for /readyz and /metrics. */
  upstream?: UpstreamMonitor;
  /** What POST /v3/maintenance/snapshot copies (the plain MVCC store). */
  snapshots?: SnapshotSource;
  /** Where log lines go instead of stdout (server.ts: pino-pretty when stdout is a terminal). */
  logStream?: DestinationStream;
  /** Collects every registered route (method + url), for the OpenAPI drift test. */
  onRoute?: (method: string, url: string) => void;
}

export interface App {
  fastify: FastifyInstance;
  /** etcd's gRPC API over the same context; the shared listener injects its connections. */
  grpc: GrpcApi;
  ctx: ApiContext;
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config } = deps;
  const queues = deps.queues ?? (await openQueues(deps.kv, { maxTxnOps: config.maxTxnOps, maxRequestBytes: config.maxRequestBytes }));
  const ctx: ApiContext = { ...deps, queues, connections: new Set(), streamStats: new WatchStreamStats(), serving: true, advertised: { clientUrls: [] } };
  const app = Fastify({
    logger: deps.logStream ? { level: config.logLevel, stream: deps.logStream } : { level: config.logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBodyBytes,
    rewriteUrl: (req) => routableUrl(gatewayUrl(req.url ?? '/')),
  });
  // Each committed event is encoded to JSON once (events memoize their encoding). The watch
  // engine keeps recent events for catch-up, and a replay sends bytes that already exist when
  // the idle encoder got to them first: it encodes commits in the loop's quiet intervals only,
  // so a saturating write load does not pay for replays that may never come.
  if (config.watchHistoryBytes > 0) {
    const encoder = new IdleEncoder((ev) => encodeEvent(ev, false), {
      checkIntervalMs: DEFAULTS.preEncodeCheckIntervalMs,
      busyUtilization: DEFAULTS.preEncodeBusyUtilization,
      sliceMs: DEFAULTS.preEncodeSliceMs,
      maxBacklogBytes: config.watchHistoryBytes,
      costOf: eventCost,
    });
    const stop = deps.kv.onCommit(encoder.onCommit);
    app.addHook('onClose', async () => {
      stop();
      encoder.stop();
    });
  }
  // Before the store closes (server.ts closes the app first): batches on their way finish.
  if (!deps.queues) app.addHook('onClose', async () => queues.close());
  accessLog(app);
  // First of all hooks and routes, so every route (and every WebSocket upgrade) gets it.
  await browserGuard(app, config.cors);
  routeAuth(app, ctx);
  const postPaths = new Set<string>();
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) {
      if (m === 'HEAD') continue;
      if (m === 'POST') postPaths.add(r.url);
      deps.onRoute?.(m, r.url);
    }
  });

  app.setErrorHandler((err, req, reply) => {
    const m = mapError(err, config.maxBodyBytes);
    if (m.unexpected) req.log.error({ err, url: req.url }, 'request failed');
    return sendJson(reply, m.httpStatus, errorBody(m));
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    // etcd's plain-text answers, byte for byte (newline included): its JSON gateway owns /v3/
    // (and /v3beta/, rewritten to /v3/ before routing); every other path is Go's http.NotFound.
    if (postPaths.has(path) && req.method !== 'POST') return etcdMethodNotAllowed(req, reply);
    // etcd's own GET handlers (not its gateway) refuse other methods naming the one they take.
    if (ETCD_GET_ONLY.has(path) && req.method !== 'GET') return etcdMethodNotAllowed(req, reply.header('allow', 'GET'));
    const body = path.startsWith('/v3/') ? 'Not Found\n' : '404 page not found\n';
    return reply.code(404).type('text/plain; charset=utf-8').send(body);
  });

  // Before the plugins: its request-counting hooks must reach every route.
  metricsRoutes(app, ctx);

  // No permessage-deflate: the watch route writes its frames itself (ws/frame-batcher.ts).
  await app.register(websocket, { options: { maxPayload: config.maxBodyBytes * 2, perMessageDeflate: false } });
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: config.maxBodyBytes }, (_req, body, done) => done(null, body));
    kvRoutes(scope, ctx);
    leaseRoutes(scope, ctx);
    clusterRoutes(scope, ctx);
    authRoutes(scope, ctx);
    snapshotRoute(scope, ctx);
    maintenanceRoutes(scope, ctx);
  });
  await app.register(async (scope) => leaseKeepAliveRoutes(scope, ctx));
  await app.register(async (scope) => httpWatchRoute(scope, ctx));
  await app.register(async (scope) => wsWatchRoute(scope, ctx));
  await app.register(async (scope) => restKvRoutes(scope, ctx));
  await app.register(async (scope) => sseWatchRoute(scope, ctx, ctx.streamStats.sse));
  await app.register(async (scope) => queueRoutes(scope, ctx));
  await app.register(async (scope) => queueConsumeRoute(scope, ctx));
  await app.register(uiRoutes);
  await app.register(docsRoutes);
  healthRoutes(app, ctx);
  clientBundleRoute(app);
  // HTTP/2 requests that are not gRPC (a browser or curl over TLS, where ALPN picks h2) reach the
  // same routes as HTTP/1.1 ones.
  const http = (req: unknown, res: unknown): boolean => app.server.emit('request', req, res);
  return { fastify: app, grpc: buildGrpcServer(ctx, app.log, http), ctx };
}

/**
 * Starts shutdown of the watch side: /readyz turns 503, new streams are refused, and every watch
 * connection is ended (WebSocket close 1001 "going away").
 */
export function closeWatchConnections(ctx: ApiContext): void {
  ctx.serving = false;
  for (const c of [...ctx.connections]) c.shutdown(WS_CLOSE.goingAway.code, WS_CLOSE.goingAway.reason);
  ctx.connections.clear();
}
