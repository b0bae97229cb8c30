/**
 * Side-by-side benchmark of watchkv and a real etcd 3.4 on this machine (issue #5):
 * `npm run bench:compare` (BENCH_QUICK=1 for a short development run; see bench/lib/bench-config.ts
 * for every BENCH_* variable). Each scenario starts both servers fresh as child processes, runs
 * against both with the same client load, alternating which goes first, BENCH_REPEAT times, and
 * stops them. Prints the table, writes bench/results/compare-<date>.json and rewrites bench/RESULTS.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchEnv, loadBenchConfig, type BenchConfig } from './lib/bench-config.ts';
import { buildRows, outcomeFor, renderNotes, renderTable, type ScenarioOutcome, type Target } from './lib/report.ts';
import type { Scenario } from './lib/scenario.ts';
import { BOUNDS_MD } from './lib/bounds.ts';
import { startServer, type ServerHandle, type ServerKind } from './lib/server-process.ts';
import { catchupScenario } from './compare/catchup.ts';
import { pacedFanoutScenario, saturationScenario } from './compare/fanout.ts';
import { idleScenario } from './compare/idle.ts';
import { leaseExpiryScenario, leaseKeepAliveScenario } from './compare/lease.ts';
import { putScenario } from './compare/put.ts';
import { grpcPutScenario, grpcRangeScenario, grpcSaturationScenario } from './compare/grpc.ts';
import { authScenario } from './compare/auth.ts';
import { rangeScenario } from './compare/range.ts';
import { reopenScenario } from './compare/reopen.ts';
import { sseFanoutScenario } from './compare/sse-fanout.ts';
import { queueScenario } from './compare/queue.ts';
import { upstreamFanoutScenario } from './compare/upstream.ts';

const benchDir = fileURLToPath(new URL('./', import.meta.url));
const live = new Set<ServerHandle>();
/** 1/5/15-minute load before the run: other work on the machine skews the figures */
const loadAtStart = os.loadavg();

function log(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function targetsFor(cfg: BenchConfig): Target[] {
  const w100 = `fanout-w${cfg.fanoutShapes[0]!.watchers}`;
  return [
    { scenario: 'put', metric: 'rps', label: '>= 2x etcd', pass: (v) => v.watchkv >= 2 * v.etcd },
    { scenario: 'put', metric: 'rps@fastify', label: '>= 80% of bare fastify', pass: (v) => v.watchkv >= 0.8 * v.fastify },
    { scenario: 'fanout-sat', metric: 'delivered', label: '>= 10x etcd', pass: (v) => v.watchkv >= 10 * v.etcd },
    { scenario: w100, metric: 'writerRate', label: `keeps up: >= 95% of ${cfg.fanoutRate}/s`, pass: (v) => v.watchkv >= 0.95 * cfg.fanoutRate },
    { scenario: w100, metric: 'p99', label: '<= 50 ms', pass: (v) => v.watchkv <= 50 },
    { scenario: 'catchup', metric: 'eps', label: '>= 20x etcd', pass: (v) => v.watchkv >= 20 * v.etcd },
    { scenario: 'fanout-sse', metric: 'ratio', label: '>= 0.5 (half the WebSocket rate)', pass: (v) => v.watchkv >= 0.5 },
    { scenario: 'grpc-put', metric: 'rps', label: '>= etcd', pass: (v) => v.watchkv >= v.etcd },
    { scenario: 'grpc-fanout-sat', metric: 'delivered', label: '>= 5x etcd', pass: (v) => v.watchkv >= 5 * v.etcd },
    { scenario: 'auth', metric: 'putOverhead', label: '<= 10 %', pass: (v) => v.watchkv <= 10 },
    { scenario: 'auth', metric: 'fanOverhead', label: '<= 10 %', pass: (v) => v.watchkv <= 10 },
    { scenario: 'upstream-fanout-sat', metric: 'delivered', label: '>= 10x etcd (2 nodes vs the cluster)', pass: (v) => v.watchkv >= 10 * v.etcd },
    { scenario: 'idle', metric: 'bytesPerWatcher', label: '<= 2 KB (2,048 B)', pass: (v) => v.watchkv <= 2048 },
    { scenario: 'queue', metric: 'ips', label: '> NATS JetStream', pass: (v) => v.watchkv > v.nats },
  ];
}

async function start(kind: ServerKind, s: Scenario, cfg: BenchConfig): Promise<ServerHandle> {
  const h = s.start ? await s.start(kind, cfg) : await startServer(kind, s.startOptions?.(cfg) ?? {});
  live.add(h);
  return h;
}

async function stop(h: ServerHandle): Promise<void> {
  live.delete(h);
  await h.stop();
}

function summary(sample: { figures: Record<string, number>; check?: string }): string {
  const f = Object.entries(sample.figures).map(([k, v]) => `${k}=${Number.isFinite(v) ? +v.toFixed(2) : v}`).join(' ');
  return sample.check && sample.check !== 'ok' ? `${f} [${sample.check}]` : f;
}

async function runScenario(s: Scenario, cfg: BenchConfig): Promise<ScenarioOutcome> {
  const kinds = (s.servers ?? ['watchkv', 'etcd']).filter((k) => cfg.servers.includes(k));
  const out = outcomeFor(s, kinds);
  const servers = new Map<ServerKind, ServerHandle>();
  const fail = (kind: ServerKind, e: unknown): void => {
    let msg = e instanceof Error ? e.message : String(e);
    const h = servers.get(kind);
    if (h && !h.alive()) msg += ` [the ${kind} process died; its last output: ${h.output().slice(-600)}]`;
    out.errors[kind] = msg.slice(0, 1200);
    log(`  ${kind}: ERROR ${msg.slice(0, 1200)}`);
  };
  const prepare = async (kind: ServerKind): Promise<ServerHandle | null> => {
    try {
      const h = await start(kind, s, cfg);
      servers.set(kind, h);
      const t0 = performance.now();
      await s.setup?.(h, cfg);
      if (s.setup) log(`  ${kind}: setup ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return h;
    } catch (e) {
      fail(kind, e);
      return null;
    }
  };
  const release = async (kind: ServerKind): Promise<void> => {
    const h = servers.get(kind);
    servers.delete(kind);
    if (h) await stop(h).catch((e: unknown) => log(`  ${kind}: stop failed: ${String(e)}`));
  };

  log(`scenario ${s.id}: ${s.title}`);
  try {
    if (!s.freshPerRep) for (const k of kinds) await prepare(k);
    for (let rep = 0; rep < cfg.repeat; rep++) {
      const order = rep % 2 === 0 ? kinds : [...kinds].reverse();
      for (const kind of order) {
        if (out.errors[kind]) continue;
        const h = s.freshPerRep ? await prepare(kind) : servers.get(kind);
        if (!h) continue;
        try {
          const sample = await s.measure(h, rep, cfg);
          (out.samples[kind] ??= []).push(sample);
          log(`  ${kind} run ${rep + 1}: ${summary(sample)}${sample.note ? ` (${sample.note})` : ''}`);
        } catch (e) {
          fail(kind, e);
        }
        if (s.freshPerRep) await release(kind);
      }
    }
  } finally {
    for (const k of [...servers.keys()]) await release(k);
    await s.teardown?.();
  }
  return out;
}

function machine(): Record<string, unknown> {
  const etcd = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  const git = (args: string[]): string => spawnSync('git', args, { encoding: 'utf8', cwd: benchDir }).stdout?.trim() ?? '';
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    totalMemGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    etcd: /etcd Version: (\S+)/.exec(etcd.stdout ?? '')?.[1] ?? 'unknown',
    watchkvCommit: git(['rev-parse', '--short', 'HEAD']),
    worktreeDirty: git(['status', '--porcelain', '--untracked-files=no']).length > 0,
    loadAvgAtStart: loadAtStart.map((x) => +x.toFixed(2)),
  };
}

function commandLine(): string {
  const env = Object.entries(benchEnv()).map(([k, v]) => `${k}=${v} `).join('');
  return process.env.npm_lifecycle_event === 'bench:compare' ? `${env}npm run bench:compare` : `${env}node --import tsx bench/compare.ts`;
}

function resultsMd(date: string, command: string, m: Record<string, unknown>, cfg: BenchConfig, table: string, notes: string[], jsonName: string, wallS: number): string {
  return `# watchkv vs etcd: side-by-side benchmark

This file is rewritten by \`npm run bench:compare\` (bench/compare.ts); do not edit by hand.

- **Date:** ${date} (whole run: ${Math.round(wallS)} s)
- **Command:** \`${command}\`
- **Machine:** ${m.cores} cores (${m.cpuModel}), ${m.totalMemGiB} GiB RAM, ${m.os}; Node ${m.node}; etcd ${m.etcd} (Debian \`etcd-server\`); watchkv at ${m.watchkvCommit}${m.worktreeDirty ? ' + uncommitted changes' : ''}
- **Load average before the run (1/5/15 min):** ${(m.loadAvgAtStart as number[]).join(' / ')}
- **Mode:** ${cfg.quick ? 'QUICK (BENCH_QUICK=1: short durations, small sizes; not the reference figures)' : 'full'}; ${cfg.repeat} repetitions per scenario and server, alternating which server goes first
- **Raw figures:** bench/results/${jsonName}

**Client and servers share the same ${m.cores} cores.** The harness (autocannon and the WebSocket
watch clients, one Node process), the fan-out writer (a second Node process) and the server under
test (a child process) all run on this machine at once, so every figure is what this box sustains
with its own load generator, not the server's capacity alone; the fan-out rows show the CPU each
side used. Both servers get identical load through the same API: etcd's JSON gateway
(\`POST /v3/kv/*\`) and WebSocket \`/v3/watch\`. Each cell is the mean over the repetitions, with
± half the spread between them; "(FAILED)" marks a figure from a run whose exactly-once/in-order
(or completeness) check failed.

${table}

${notes.length ? `## Failures and notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : '## Failures and notes\n\nNone: every check passed.\n'}
${BOUNDS_MD}
## What each scenario measures

1. **put**: autocannon, 50 connections, ${cfg.durationS} s, 256-byte values over 10k keys (a different key per request);
   the same load against a bare fastify route answering a constant (bench/lib/fastify-ceiling.ts) is the HTTP ceiling.
2. **range**: autocannon, 50 connections, ${cfg.rangeDurationS} s each: one key, then a 100-key prefix (prepopulated, 256-byte values).
3. **fan-out**: W watchers on one prefix over WebSockets; a writer process puts under the prefix (values carry the
   send time). Paced: ${cfg.fanoutRate} puts/s for ${cfg.fanoutDurationS} s. Saturation: ${cfg.saturation.writers} writers flat out for
   ${cfg.saturation.durationS} s. Delivered events/s counts all watchers from the writer's start to the last event received; latency is
   receipt time minus send time. Every watcher must receive every acknowledged put's revision exactly once, in order.
   Before a fresh server's first measured run, an unrecorded 2 s run of the same shape warms it up (both servers).
   The watch client (bench/lib/watch-client.ts over the minimal WebSocket client bench/lib/raw-ws.ts) scans frames
   without JSON.parse after cross-checking each socket's first 20 event frames with it.
   **SSE fan-out** (watchkv only; etcd has no SSE): W EventSource-style clients of \`/v1/watch\` (one connection and
   one watcher each, bench/lib/sse-client.ts; W = \`BENCH_SSE_WATCHERS\`, 1,000, or 200 in QUICK mode), then W WebSockets
   with one watcher each, under the same paced writer; the target is SSE delivering at least half the WebSocket rate,
   with the same exactly-once, in-order check.
4. **catch-up**: ${cfg.catchupEvents.toLocaleString('en-US')} events written as txns of ${cfg.catchupOpsPerTxn} puts, then one watch from the first of
   their revisions; events/s from the create request to the last event. Each server first replays it once unrecorded (warm-up).
5. **idle**: ${cfg.idleWatchers.toLocaleString('en-US')} watchers over ${cfg.idleSockets} sockets, each on its own key, on a fresh server;
   (VmRSS after - VmRSS before) / watchers created. Creation is capped at ${cfg.idleTimeoutS} s per server.
6. **reopen**: ${cfg.reopenKeys.toLocaleString('en-US')} keys written as txns of ${cfg.reopenOpsPerTxn} puts; graceful stop, start on the same data dir,
   time from spawn until \`/v3/maintenance/status\` answers (etcd with \`--quota-backend-bytes 8589934592\`); the server's VmRSS
   right then, before any request, total and per key (watchkv: the index loaded from the checkpoint its graceful stop wrote).
7. **lease-keepalive**: autocannon, 50 connections, ${cfg.durationS} s; each connection loops grant (TTL 60) then one
   keep-alive of that lease (a one-request streaming \`POST /v3/lease/keepalive\`); both requests count.
8. **lease-expiry**: ${cfg.leaseCount.toLocaleString('en-US')} leases (TTL ${cfg.leaseTtlS} s) with one key each, granted by 32 clients; then the time from
   the first lease's deadline (and from the last's) until the last key is gone, and the latency of a probe read every
   20 ms meanwhile (the stall other clients see). etcd revokes at most 1,000 expired leases a second (its
   \`leaseRevokeRate\`); watchkv revokes them in batches of 256, each lease its own revision, yielding between batches.
9. **grpc-put / grpc-range / grpc-fanout-sat**: the put, range and saturation fan-out loads through etcd's gRPC API
   (the same port), with the same lean clients for both servers, requests encoded once and responses walked, not
   decoded: unary calls framed by hand on the socket (bench/lib/grpc-raw-conn.ts: a cached header block and one DATA
   frame a call, HPACK decoding of the answers, flow control both ways; ~30 us of client CPU a call, where node:http2's
   client spent ~75-85 us and set the pace for both servers), 5 connections × 10 calls in flight, then the put load
   again for half the time through grpc-js (bench/lib/grpc-client.ts), whose client spends ~85 % of a core at ~4k
   calls/s; watchers on grpc-js Watch streams, one connection per stream, with a 4 MiB HTTP/2 window (grpc-go, etcd's
   own client, grows its window to 16 MiB; at the 64 KiB default the window, not either server, capped delivery near
   1.3M events/s); the fan-out writer process puts through gRPC with the hand-framed client (2 connections × 10 calls
   in flight), not the gateway: its HTTP puts capped it near 4.7k puts/s.
10. **auth**: on one server, the put load (50 connections) and the saturation fan-out with auth off and with auth on
   as a user holding READWRITE on /bench/ (token on every put and on each watch socket's upgrade); which half goes
   first alternates per repetition; the overhead is (off - on) / off. etcd runs the put half only.
11. **queue**: durable enqueue → deliver → ack of \`BENCH_QUEUE_ITEMS\` (${cfg.queueItems.toLocaleString('en-US')}) 100-byte items,
   ${cfg.queueProducers} producers × 16 items in flight, ${cfg.queueConsumers} consumers × 64 credit acking each item, against a NATS JetStream
   work-queue stream (Debian \`nats-server\`, npm \`nats\`; bench/compare/queue.ts). Items/s from the first enqueue to an
   empty queue; latency from the enqueue call to the delivery. As the issue asks, NATS syncs every item
   (\`sync_interval: always\`, which needs nats-server >= 2.10: \`scripts/install-nats.sh\` puts Debian trixie's 2.10 in
   bench/.bin/, since bookworm ships 2.9.10). **queue-nats-async**, for information: the same load against JetStream's
   default (fsync every 2 minutes), which is not durable per item.
12. **upstream-fanout-sat** (issue 18): a 3-member etcd cluster on loopback; the saturation load's gRPC watchers either
   spread over the cluster's members (etcd) or over 2, then 1, watchkv nodes in upstream mode in front of it
   (watchkv); the writer writes to etcd's leader in both. Also: the writer alone, the tier's and etcd's CPU, and
   delivered events per CPU-second of the tier (bench/compare/upstream.ts).

Knobs (environment): \`BENCH_QUICK=1\` (short run for development), \`BENCH_REPEAT\` (default 2),
\`BENCH_DURATION_S\` (put; range and fan-out follow it unless \`BENCH_RANGE_DURATION_S\` / \`BENCH_FANOUT_DURATION_S\` /
\`BENCH_SAT_DURATION_S\` are set), \`BENCH_FANOUT_RATE\`, \`BENCH_SAT_WATCHERS\`, \`BENCH_SAT_PER_SOCKET\`, \`BENCH_SAT_WRITERS\`,
\`BENCH_DRAIN_TIMEOUT_S\`, \`BENCH_CATCHUP_EVENTS\`, \`BENCH_IDLE_WATCHERS\`, \`BENCH_IDLE_SOCKETS\`, \`BENCH_IDLE_TIMEOUT_S\`,
\`BENCH_REOPEN_KEYS\`, \`BENCH_REOPEN_FILL_TIMEOUT_S\`, \`BENCH_LEASE_COUNT\`, \`BENCH_LEASE_TTL_S\`, \`BENCH_SSE_WATCHERS\`,
\`BENCH_QUEUE_ITEMS\`, \`BENCH_QUEUE_PRODUCERS\`, \`BENCH_QUEUE_CONSUMERS\`,
\`BENCH_ONLY=put,range,fanout,fanout-sse,catchup,idle,reopen,lease,grpc,auth,queue,upstream\` (a subset),
\`BENCH_SERVERS=watchkv,etcd,fastify,nats\` (a subset), \`BENCH_WATCHKV_TSX=1\` (run watchkv's sources through tsx instead of the build in dist/), \`BENCH_WATCHKV_NODE_ARGS\` (e.g. \`--cpu-prof --cpu-prof-dir=/tmp/prof\`;
summarise with \`node --import tsx bench/lib/cpuprofile-top.ts [--by-area] <file>\`).
`;
}

async function main(): Promise<void> {
  const cfg = loadBenchConfig();
  const t0 = performance.now();
  const date = new Date().toISOString();
  const all: Scenario[] = [
    putScenario,
    rangeScenario,
    ...cfg.fanoutShapes.map((shape) => pacedFanoutScenario(cfg, shape)),
    saturationScenario(cfg),
    sseFanoutScenario(cfg),
    catchupScenario,
    idleScenario,
    reopenScenario,
    leaseKeepAliveScenario,
    leaseExpiryScenario,
    grpcPutScenario,
    grpcRangeScenario,
    grpcSaturationScenario(cfg),
    authScenario(cfg),
    queueScenario(cfg),
    queueScenario(cfg, false),
    upstreamFanoutScenario(cfg),
  ];
  const chosen = cfg.only.length ? all.filter((s) => cfg.only.some((o) => s.id === o || s.id.startsWith(`${o}-`))) : all;
  if (chosen.length === 0) throw new Error(`BENCH_ONLY=${cfg.only.join(',')} matches none of: ${all.map((s) => s.id).join(', ')}`);
  const outcomes: ScenarioOutcome[] = [];
  for (const s of chosen) outcomes.push(await runScenario(s, cfg));

  const targets = targetsFor(cfg);
  const rows = buildRows(outcomes, targets);
  const table = renderTable(rows);
  const notes = renderNotes(outcomes);
  const m = machine();
  const command = commandLine();
  const wallS = (performance.now() - t0) / 1000;
  const jsonName = `compare-${date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`;
  // bench/results/ keeps the JSON of every complete comparison (RESULTS.md shows the latest); a subset
  // run (BENCH_ONLY, BENCH_SERVERS) leaves RESULTS.md as is and writes its JSON to the git-ignored
  // bench/results/tmp/, so development runs never pile up beside them.
  const complete = chosen.length === all.length && ['watchkv', 'etcd', 'fastify'].every((k) => cfg.servers.includes(k));
  const jsonPath = `results/${complete ? '' : 'tmp/'}${jsonName}`;
  mkdirSync(dirname(`${benchDir}${jsonPath}`), { recursive: true });
  writeFileSync(
    `${benchDir}${jsonPath}`,
    JSON.stringify({ date, command, machine: m, config: cfg, env: benchEnv(), wallSeconds: Math.round(wallS), targets: targets.map((t) => ({ scenario: t.scenario, metric: t.metric, label: t.label })), rows, outcomes }, null, 2) + '\n',
  );
  if (complete) writeFileSync(`${benchDir}RESULTS.md`, resultsMd(date, command, m, cfg, table, notes, jsonName, wallS));
  const wrote = complete ? `bench/${jsonPath} and bench/RESULTS.md` : `bench/${jsonPath} (subset run: RESULTS.md left as is)`;
  process.stdout.write(`\n${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n\nwrote ${wrote} (${Math.round(wallS)} s)\n`);
}

async function stopAll(): Promise<void> {
  await Promise.all([...live].map((h) => h.stop().catch(() => undefined)));
}

process.once('SIGINT', () => {
  log('interrupted: stopping servers');
  void stopAll().then(() => process.exit(130));
});

main().then(
  () => process.exit(0),
  async (e: unknown) => {
    log(`compare failed: ${e instanceof Error ? e.stack : String(e)}`);
    await stopAll();
    process.exit(1);
  },
);
