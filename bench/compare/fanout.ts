/**
 * Scenario 3, watch fan-out over WebSocket. W watchers on one prefix (`perSocket` per socket), then
 * one writer process putting under the prefix with a send timestamp in every value:
 *   paced:      `rate` puts/s for the fan-out duration (keep-alive HTTP, up to 64 puts in flight);
 *   saturation: `writers` concurrent writers back to back for the duration.
 * Figures: delivered events/s (all watchers, writer start → last event), end-to-end latency from
 * send time to receipt, the writer's achieved rate, CPU of server and client. Every watcher must
 * get every acknowledged put's revision exactly once, in order; anything else marks the run FAILED.
 */
import { LatencyHistogram } from '../lib/histogram.ts';
import { b64, nowMs, prefixEnd, sleep } from '../lib/keys.ts';
import { CpuMeter } from '../lib/proc-stats.ts';
import type { Sample, Scenario } from '../lib/scenario.ts';
import type { ServerHandle } from '../lib/server-process.ts';
import { openWatchers, type WatcherStats } from '../lib/watch-client.ts';
import { WriterProcess, type WriterResult } from '../lib/writer.ts';
import type { BenchConfig, FanoutShape } from '../lib/bench-config.ts';

/** One client connection's watchers, whatever the transport (WebSocket, gRPC stream). */
export interface WatchConnLike {
  watchers: WatcherStats[];
  problems: string[];
  eventsIn: number;
  close(): Promise<void>;
}

/** Opens `conns` connections with `perConn` watchers each on `prefix`, checking order and latency. */
export type OpenWatchers = (url: string, conns: number, perConn: number, prefix: string, hist: LatencyHistogram) => Promise<WatchConnLike[]>;

const openWs: OpenWatchers = (url, conns, perConn, prefix, hist) => {
  const create = { key: b64(prefix), range_end: b64(prefixEnd(prefix)) };
  return openWatchers(url, conns, perConn, () => create, { strictOrder: true, latency: hist });
};

export interface FanoutRun {
  watchers: number;
  perSocket: number;
  mode: 'paced' | 'flat';
  rate: number;
  concurrency: number;
  durationS: number;
  /** an auth token for the writer's puts (the opener carries its own for the watchers) */
  token?: string;
  /** the writer's puts: the JSON gateway unless told */
  transport?: 'http' | 'grpc';
}

/**
 * Exactly-once, in-order verdict over all watchers: 'ok' or what went wrong. A watcher still behind
 * when the drain wait ends is not a failure as long as what it got is exactly the writer's
 * revisions up to its last one (no gap, no duplicate); those are counted in `behind`.
 */
export function verdict(sockets: ReadonlyArray<Pick<WatchConnLike, "watchers" | "problems">>, w: WriterResult, expectedWatchers: number): { check: string; behind: number } {
  const sorted = [...w.revs].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) return { check: `FAILED: writer got revision ${sorted[i]} twice`, behind: 0 };
  const prefixSum = [0];
  for (const r of sorted) prefixSum.push(prefixSum[prefixSum.length - 1]! + r);
  /** how many writer revisions are <= rev */
  const upTo = (rev: number): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! <= rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const problems: string[] = [];
  let bad = 0;
  let behind = 0;
  let seen = 0;
  for (const s of sockets) {
    problems.push(...s.problems);
    for (const x of s.watchers) {
      seen++;
      const k = upTo(x.lastRev);
      if (x.events === k && x.revSum === prefixSum[k] && x.orderViolations === 0 && !x.canceled) {
        if (k < sorted.length) behind++;
        continue;
      }
      if (bad++ === 0) {
        const why = x.canceled
          ? `canceled (${x.canceled})`
          : x.orderViolations
            ? `out of order/duplicate: ${x.firstViolation}`
            : `${x.events} events up to rev ${x.lastRev}, writer acknowledged ${k} (gap or extra)`;
        problems.unshift(`watch ${x.id}: ${why}`);
      }
    }
  }
  if (seen !== expectedWatchers) problems.unshift(`${seen} of ${expectedWatchers} watchers alive`);
  if (bad === 0 && problems.length === 0) return { check: 'ok', behind };
  return { check: `FAILED: ${bad} of ${expectedWatchers} watchers wrong; ${problems.slice(0, 3).join('; ')}`, behind };
}

export async function runFanout(server: ServerHandle, rep: number, run: FanoutRun, writer: WriterProcess, drainTimeoutS: number, tag = '', open: OpenWatchers = openWs): Promise<Sample> {
  const prefix = `/bench/fan/${tag}${run.mode}${run.watchers}/${rep}/`;
  const hist = new LatencyHistogram();
  const sockets = await open(server.url, Math.ceil(run.watchers / run.perSocket), run.perSocket, prefix, hist);
  try {
    const meter = new CpuMeter(server.pid);
    const w = await writer.run({
      url: server.url,
      mode: run.mode,
      rate: run.rate,
      concurrency: run.concurrency,
      durationMs: run.durationS * 1000,
      keyPrefix: prefix,
      keySpace: 100,
      valueBytes: 32,
      ...(run.token ? { token: run.token } : {}),
      ...(run.transport ? { transport: run.transport } : {}),
    });
    const maxRev = w.revs.reduce((a, b) => Math.max(a, b), 0);
    const all = sockets.flatMap((s) => s.watchers);
    const deadline = nowMs() + drainTimeoutS * 1000;
    while (nowMs() < deadline && all.some((x) => x.lastRev < maxRev)) await sleep(20);
    const cpu = meter.read();
    const delivered = sockets.reduce((a, s) => a + s.eventsIn, 0);
    const lastEventAt = all.reduce((a, x) => Math.max(a, x.lastEventAt), 0);
    const v = verdict(sockets, w, run.watchers);
    const notes: string[] = [];
    if (w.errors > 0) notes.push(`writer: ${w.errors} failed puts (first: ${w.firstError})`);
    if (v.behind > 0) notes.push(`${v.behind} watchers still behind ${drainTimeoutS} s after the writer stopped (no gap in what they got)`);
    return {
      figures: {
        delivered: delivered / (Math.max(1, lastEventAt - w.startedAt) / 1000),
        p50: hist.percentile(50),
        p99: hist.percentile(99),
        max: hist.max,
        writerRate: w.achievedRate,
        puts: w.ok,
        serverCpu: cpu.serverPct,
        clientCpu: cpu.clientPct,
        perServerCpuS: delivered / (cpu.serverMs / 1000),
      },
      check: v.check,
      ...(notes.length ? { note: notes.join('; ') } : {}),
    };
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
  }
}

const fanoutMetrics = [
  { key: 'delivered', label: 'delivered events/s', unit: 'events/s' },
  { key: 'p50', label: 'end-to-end latency p50', unit: 'ms', decimals: 2 },
  { key: 'p99', label: 'end-to-end latency p99', unit: 'ms', decimals: 2 },
  { key: 'max', label: 'end-to-end latency max', unit: 'ms', decimals: 1 },
  { key: 'writerRate', label: 'writer achieved puts/s', unit: 'puts/s' },
  { key: 'serverCpu', label: 'server CPU', unit: '% of a core' },
  { key: 'clientCpu', label: 'harness (watch client) CPU', unit: '% of a core' },
  // What the server spends per event, its puts included, whatever the harness and writer took of
  // the shared cores: the figure that would carry over to a box where they ran elsewhere.
  { key: 'perServerCpuS', label: 'delivered events per server CPU-second', unit: 'events/s' },
];

/** s: the unrecorded warm-up run before a server's first measured fan-out run */
const WARMUP_S = 2;
/** per opener: a server warmed over WebSockets is not yet warm for gRPC */
const warmed = new WeakMap<OpenWatchers, WeakSet<ServerHandle>>();

export function writerScenario(id: string, title: string, run: FanoutRun, open: OpenWatchers = openWs): Scenario {
  let writer: WriterProcess | null = null;
  return {
    id,
    title,
    checkLabel: 'every watcher got every put exactly once, in order',
    metrics: fanoutMetrics,
    async setup() {
      writer ??= await WriterProcess.start();
    },
    async measure(server, rep, cfg) {
      writer ??= await WriterProcess.start();
      const warm = warmed.get(open) ?? new WeakSet<ServerHandle>();
      warmed.set(open, warm);
      if (!warm.has(server)) {
        // A fresh server's first writes and deliveries run cold (JIT, first LevelDB files): one
        // short unrecorded run of the same shape first, on its own prefix and watchers.
        warm.add(server);
        await runFanout(server, 0, { ...run, mode: 'paced', rate: Math.min(run.rate || 1000, 1000), concurrency: 64, durationS: WARMUP_S }, writer, cfg.drainTimeoutS, 'warmup', open);
      }
      return runFanout(server, rep, run, writer, cfg.drainTimeoutS, '', open);
    },
    async teardown() {
      writer?.close();
      writer = null;
    },
  };
}

export function pacedFanoutScenario(cfg: BenchConfig, shape: FanoutShape): Scenario {
  return writerScenario(
    `fanout-w${shape.watchers}`,
    `watch fan-out: W=${shape.watchers} (${shape.perSocket}/socket), writer paced at ${cfg.fanoutRate} puts/s for ${cfg.fanoutDurationS} s`,
    { watchers: shape.watchers, perSocket: shape.perSocket, mode: 'paced', rate: cfg.fanoutRate, concurrency: 64, durationS: cfg.fanoutDurationS },
  );
}

export function saturationScenario(cfg: BenchConfig): Scenario {
  const sat = cfg.saturation;
  return writerScenario(
    'fanout-sat',
    `watch fan-out at saturation: W=${sat.watchers} (${sat.perSocket}/socket), ${sat.writers} writers flat out for ${sat.durationS} s`,
    { watchers: sat.watchers, perSocket: sat.perSocket, mode: 'flat', rate: 0, concurrency: sat.writers, durationS: sat.durationS },
  );
}
