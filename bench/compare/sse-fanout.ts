/**
 * SSE fan-out beside WebSocket fan-out, watchkv only (etcd has no SSE): W EventSource-style
 * clients (one HTTP connection and one watcher each, as browsers) on one prefix, then the same W
 * as WebSocket watchers one per socket (the same connection count), each under the same paced
 * writer. Figures: delivered events/s for both, their ratio (issue 13's target: SSE >= half the
 * WebSocket rate), SSE latency. Every client must get every acknowledged put exactly once, in
 * order (fanout.ts's verdict), or the run is FAILED.
 */
import { LatencyHistogram } from '../lib/histogram.ts';
import { nowMs, sleep } from '../lib/keys.ts';
import { CpuMeter } from '../lib/proc-stats.ts';
import type { Sample, Scenario } from '../lib/scenario.ts';
import type { ServerHandle } from '../lib/server-process.ts';
import { openSseWatchers } from '../lib/sse-client.ts';
import { WriterProcess } from '../lib/writer.ts';
import type { BenchConfig } from '../lib/bench-config.ts';
import { runFanout, verdict } from './fanout.ts';

/** watchers: browser-like clients, one connection each (BENCH_SSE_WATCHERS). */
function sseWatchers(cfg: BenchConfig): number {
  const v = Number(process.env.BENCH_SSE_WATCHERS);
  return Number.isFinite(v) && v > 0 ? v : cfg.quick ? 200 : 1000;
}

async function runSse(server: ServerHandle, rep: number, watchers: number, cfg: BenchConfig, writer: WriterProcess): Promise<Sample> {
  const prefix = `/bench/sse/${rep}/`;
  const hist = new LatencyHistogram();
  const clients = await openSseWatchers(`${server.url}/v1/watch/${encodeURIComponent(prefix)}?prefix`, watchers, hist);
  try {
    const meter = new CpuMeter(server.pid);
    const w = await writer.run({ url: server.url, mode: 'paced', rate: cfg.fanoutRate, concurrency: 64, durationMs: cfg.fanoutDurationS * 1000, keyPrefix: prefix, keySpace: 100, valueBytes: 32 });
    const maxRev = w.revs.reduce((a, b) => Math.max(a, b), 0);
    const all = clients.flatMap((c) => c.watchers);
    const deadline = nowMs() + cfg.drainTimeoutS * 1000;
    while (nowMs() < deadline && all.some((x) => x.lastRev < maxRev)) await sleep(20);
    const cpu = meter.read();
    const delivered = clients.reduce((a, c) => a + c.eventsIn, 0);
    const lastEventAt = all.reduce((a, x) => Math.max(a, x.lastEventAt), 0);
    const v = verdict(clients, w, watchers);
    return {
      figures: {
        delivered: delivered / (Math.max(1, lastEventAt - w.startedAt) / 1000),
        p50: hist.percentile(50),
        p99: hist.percentile(99),
        writerRate: w.achievedRate,
        serverCpu: cpu.serverPct,
      },
      check: v.check,
      ...(v.behind > 0 ? { note: `${v.behind} SSE clients still behind ${cfg.drainTimeoutS} s after the writer stopped (no gap in what they got)` } : {}),
    };
  } finally {
    for (const c of clients) c.close();
  }
}

export function sseFanoutScenario(cfg: BenchConfig): Scenario {
  const watchers = sseWatchers(cfg);
  let writer: WriterProcess | null = null;
  return {
    id: 'fanout-sse',
    title: `SSE fan-out: W=${watchers} EventSource-style clients vs W=${watchers} WebSockets (1 watcher each), writer paced at ${cfg.fanoutRate} puts/s for ${cfg.fanoutDurationS} s`,
    servers: ['watchkv'],
    checkLabel: 'every SSE and WebSocket client got every put exactly once, in order',
    metrics: [
      { key: 'delivered', label: 'SSE delivered events/s', unit: 'events/s' },
      { key: 'deliveredWs', label: 'WebSocket delivered events/s (same W)', unit: 'events/s' },
      { key: 'ratio', label: 'SSE / WebSocket delivered', unit: 'x', decimals: 2 },
      { key: 'p50', label: 'SSE end-to-end latency p50', unit: 'ms', decimals: 2 },
      { key: 'p99', label: 'SSE end-to-end latency p99', unit: 'ms', decimals: 2 },
      { key: 'writerRate', label: 'writer achieved puts/s (SSE run)', unit: 'puts/s' },
      { key: 'serverCpu', label: 'server CPU (SSE run)', unit: '% of a core' },
    ],
    async measure(server, rep, c) {
      writer ??= await WriterProcess.start();
      const ws = await runFanout(server, rep, { watchers, perSocket: 1, mode: 'paced', rate: c.fanoutRate, concurrency: 64, durationS: c.fanoutDurationS }, writer, c.drainTimeoutS, 'ssecmp-');
      const sse = await runSse(server, rep, watchers, c, writer);
      const deliveredWs = ws.figures.delivered ?? 0;
      const checks = [sse.check, ws.check].filter((x) => x && x !== 'ok');
      const notes = [sse.note, ws.note && `WebSocket: ${ws.note}`].filter(Boolean);
      return {
        figures: { ...sse.figures, deliveredWs, ratio: deliveredWs > 0 ? (sse.figures.delivered ?? 0) / deliveredWs : 0 },
        check: checks.length ? checks.join('; ') : 'ok',
        ...(notes.length ? { note: notes.join('; ') } : {}),
      };
    },
    async teardown() {
      writer?.close();
      writer = null;
    },
  };
}
