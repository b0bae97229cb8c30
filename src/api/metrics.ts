/**
 * GET /metrics in Prometheus text format (prom-client). Names follow etcd's where etcd has the
 * same measure, so existing etcd dashboards and alerts read watchkv; watchkv's own measures are
 * `watchkv_*`. Values are read from the store and engine at scrape time (collect callbacks), so
 * nothing on the write or watch hot path updates a metric, except one counter per HTTP answer.
 *
 * Each app has its own registry (tests build many apps in one process); Node's process metrics
 * are process-wide, so they live in one registry shared by every app of the process.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApiContext } from './context.ts';
import { WATCH_TRANSPORTS } from './watch/stream-stats.ts';

/** What the watchable store can tell about its watchers (watch/watchable-store.ts stats()). */
interface EngineStats {
  stats(): { synced: number; victims: number; unsynced: number; pendingEvents: number; recentEvents: number };
}

const hasStats = (e: unknown): e is EngineStats => typeof (e as Partial<EngineStats>).stats === 'function';

let processRegistry: Registry | undefined;

function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export function metricsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const sse = ctx.streamStats.sse;
  const registry = new Registry();
  const registers = [registry];
  const { kv, engine } = ctx;
  const watchers = () => (hasStats(engine) ? engine.stats() : { synced: 0, victims: 0, unsynced: 0, pendingEvents: 0, recentEvents: 0 });
  const gauge = (name: string, help: string, read: () => number | Promise<number>): void => {
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        this.set(await read());
      },
    });
  };
  /** A counter whose total is kept elsewhere (stream-stats.ts): the scrape copies it. */
  const counterOf = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };

  // --- etcd's names ---
  gauge('etcd_debugging_mvcc_keys_total', 'Total number of keys.', async () => (await kv.range({ key: Buffer.of(0), rangeEnd: Buffer.of(0), countOnly: true })).count);
  gauge('etcd_debugging_mvcc_watcher_total', 'Total number of watchers.', () => {
    const w = watchers();
    return w.synced + w.unsynced + w.victims;
  });
  gauge('etcd_debugging_mvcc_slow_watcher_total', 'Total number of unsynced slow watchers (catching up or parked as victims).', () => {
    const w = watchers();
    return w.unsynced + w.victims;
  });
  gauge('etcd_debugging_mvcc_pending_events_total', 'Total number of pending events to be sent (held by victim watchers).', () => watchers().pendingEvents);
  gauge('etcd_debugging_mvcc_watch_stream_total', 'Total number of watch streams (WebSocket, streaming HTTP and SSE).', () => ctx.connections.size);
  gauge('etcd_mvcc_db_total_size_in_bytes', 'Total size of the underlying database physically allocated in bytes.', () => kv.dbSize());
  gauge('etcd_debugging_mvcc_current_revision', 'The current revision of store.', () => kv.currentRevision());
  gauge('etcd_debugging_mvcc_compact_revision', 'The revision of the last compaction in store.', () => kv.compactRevision());
  const upstreamMode = ctx.upstream !== undefined;
  if (!upstreamMode) {
    // A node in upstream mode has no store of its own: the cluster's members report these.
    gauge('etcd_server_quota_backend_bytes', 'Current backend storage quota size in bytes.', () => ctx.config.quotaBackendBytes);
    new Gauge({
      name: 'watchkv_alarms',
      help: 'Raised alarms by type (NOSPACE: the space quota was reached, writes that add data are refused until disarmed).',
      labelNames: ['alarm'],
      registers,
      async collect() {
        const raised = await kv.alarm({ action: 'GET', memberId: 0n, alarm: 'NONE' });
        for (const type of ['NOSPACE', 'CORRUPT'] as const) this.set({ alarm: type }, raised.filter((a) => a.alarm === type).length);
      },
    });
  }
  const puts = new Counter({ name: 'etcd_mvcc_put_total', help: 'Total number of keys put (one per key written by a put or txn).', registers });
  const deletes = new Counter({ name: 'etcd_mvcc_delete_total', help: 'Total number of keys deleted (one per key removed by a delete or txn).', registers });
  const stop = kv.onCommit((_rev, events) => {
    let d = 0;
    for (const ev of events) if (ev.type === 'DELETE') d++;
    if (events.length > d) puts.inc(events.length - d);
    if (d > 0) deletes.inc(d);
  });
  app.addHook('onClose', async () => stop());

  // --- upstream mode: the mirror's lag behind the etcd cluster ---
  const upstream = ctx.upstream;
  if (upstream) {
    gauge('watchkv_upstream_lag_revisions', 'Upstream mode: etcd head revision minus the revision this node has published.', () => upstream.status().lagRevisions);
    gauge('watchkv_upstream_lag_seconds', 'Upstream mode: how long this node has been behind etcd (or disconnected); 0 when caught up.', () => upstream.status().lagSeconds);
    gauge('watchkv_upstream_connected', 'Upstream mode: 1 while the upstream watch is established on an etcd member.', () => (upstream.status().connected ? 1 : 0));
    gauge('watchkv_upstream_head_revision', 'Upstream mode: the highest etcd revision seen.', () => upstream.status().headRevision);
  }

  // --- watchkv's own ---
  gauge('watchkv_watch_victims', 'Watchers whose stream was full: parked with one pending batch until it drains.', () => watchers().victims);
  gauge('watchkv_watch_unsynced', 'Watchers catching up from history (new with a past start revision, or back from being victims).', () => watchers().unsynced);
  gauge('watchkv_watch_recent_events', 'Committed events kept in memory for catch-up (--watch-history-bytes).', () => watchers().recentEvents);
  gauge('watchkv_sse_streams', 'Open Server-Sent Events watch streams.', () => sse.open);
  counterOf('watchkv_sse_messages_total', 'SSE messages sent (change, progress, compacted, error).', () => sse.messages);
  counterOf('watchkv_sse_events_sent_total', 'Watch events sent over SSE.', () => sse.events);
  counterOf('watchkv_sse_bytes_sent_total', 'Bytes of SSE messages sent.', () => sse.bytes);
  // Every watch transport side by side, labelled (the SSE ones above stay for existing dashboards).
  const perTransport = (name: string, help: string, read: (t: (typeof WATCH_TRANSPORTS)[number]) => number, kind: 'gauge' | 'counter'): void => {
    const collect = function (this: Gauge | Counter): void {
      this.reset();
      for (const t of WATCH_TRANSPORTS) this.inc({ transport: t }, read(t));
    };
    if (kind === 'gauge') new Gauge({ name, help, labelNames: ['transport'], registers, collect });
    else new Counter({ name, help, labelNames: ['transport'], registers, collect });
  };
  perTransport('watchkv_watch_streams', 'Open watch streams, by transport (websocket, http, grpc, sse).', (t) => ctx.streamStats[t].open, 'gauge');
  perTransport('watchkv_watch_messages_sent_total', 'Watch messages written (events, progress, control answers), by transport.', (t) => ctx.streamStats[t].messages, 'counter');
  perTransport('watchkv_watch_events_sent_total', 'Watch events written, by transport.', (t) => ctx.streamStats[t].events, 'counter');
  perTransport('watchkv_watch_bytes_sent_total', 'Bytes of watch messages written, by transport (JSON text or protobuf).', (t) => ctx.streamStats[t].bytes, 'counter');
  // TLS (src/api/security/tls-files.ts): when the served certificate expires, and rotations.
  new Gauge({
    name: 'watchkv_tls_certificate_not_after_seconds',
    help: "Expiry (notAfter, Unix seconds) of the certificate the https:// listeners serve; alert well before it.",
    labelNames: ['cert_file'],
    registers,
    collect() {
      this.reset();
      const t = ctx.tls?.status();
      if (t) this.set({ cert_file: t.certFile }, Math.floor(t.notAfterMs / 1000));
    },
  });
  new Counter({
    name: 'watchkv_tls_file_changes_total',
    help: 'Changes of the TLS files: applied (new connections use them) or refused (unusable; the previous pair stayed).',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      const t = ctx.tls?.status();
      if (!t) return;
      this.inc({ result: 'applied' }, t.applied);
      this.inc({ result: 'refused' }, t.refused);
    },
  });
  // Work queues (src/queue/): one series per queue in use and state.
  new Gauge({
    name: 'watchkv_queue_items',
    help: 'Work queue items by queue and state (ready includes delayed: in backoff).',
    labelNames: ['queue', 'state'],
    registers,
    collect() {
      this.reset();
      for (const q of ctx.queues.list()) {
        this.set({ queue: q.name, state: 'ready' }, q.ready);
        this.set({ queue: q.name, state: 'delayed' }, q.delayed);
        this.set({ queue: q.name, state: 'in_flight' }, q.inFlight);
        this.set({ queue: q.name, state: 'dead' }, q.dead);
      }
    },
  });
  new Gauge({
    name: 'watchkv_queue_consumers',
    help: 'Connected work queue consumers (WebSocket and waiting HTTP takes), by queue.',
    labelNames: ['queue'],
    registers,
    collect() {
      this.reset();
      for (const q of ctx.queues.list()) this.set({ queue: q.name }, q.consumers);
    },
  });
  const requests = new Counter({ name: 'watchkv_http_requests_total', help: 'HTTP requests answered, by route and status.', labelNames: ['method', 'route', 'status'], registers });
  const rejected = new Counter({ name: 'watchkv_http_rejected_total', help: 'Requests rejected with an error, by reason (error code).', labelNames: ['reason'], registers });
  app.addHook('onResponse', async (req, reply) => {
    // The route pattern, not the URL: keys must not become label values.
    requests.inc({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });
  app.addHook('onError', async (_req, _reply, err) => {
    rejected.inc({ reason: String((err as { code?: unknown }).code ?? 'unknown') });
  });

  app.get('/metrics', async (_req, reply) => {
    const text = (await registry.metrics()) + '\n' + (await processMetrics().metrics());
    return reply.header('content-type', registry.contentType).send(text);
  });
}
