/**
 * upstream-fanout-sat (issue 18): watch fan-out at saturation over a real 3-member etcd cluster
 * on loopback, the same gRPC watch clients (bench/lib/grpc-watch-client.ts) either
 *   - etcd:    spread over the cluster's three members (watching etcd directly), or
 *   - watchkv: spread over two watchkv nodes in upstream mode in front of that cluster
 *              (`node dist/server.js --upstream-endpoints …`), and again over one node.
 * The writer is the same process in both (fanout.ts's WriterProcess: 20 writers flat out), and
 * it always writes to etcd's leader through etcd's JSON gateway: watchkv forwards writes, but
 * here the question is what the watch tier delivers while the writer runs against etcd.
 * Figures: delivered events/s (2 nodes), the same with 1 node, the writer's rate (and, on the
 * etcd side, the writer alone with no watchers: "the writer unaffected"), and the tier's CPU
 * (both watchkv nodes / all three etcd members) with delivered events per CPU-second of the
 * tier — a figure the shared harness does not cap, for the scale model (bench/lib/bounds.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchConfig } from '../lib/bench-config.ts';
import type { Scenario } from '../lib/scenario.ts';
import type { ServerHandle, ServerKind } from '../lib/server-process.ts';
import { freePort } from '../../scripts/etcd-server.ts';
import { prefixEnd, sleep } from '../lib/keys.ts';
import { openGrpcWatchers } from '../lib/grpc-watch-client.ts';
import { WriterProcess } from '../lib/writer.ts';
import { CpuMeter } from '../lib/proc-stats.ts';
import { runFanout, type OpenWatchers } from './fanout.ts';
import { EtcdCluster } from '../../scripts/etcd-cluster.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

interface Node {
  url: string;
  child: ChildProcess;
}

async function startNode(endpoints: string[]): Promise<Node> {
  const url = `http://127.0.0.1:${await freePort()}`;
  const entry = process.env.BENCH_WATCHKV_TSX === '1' ? ['--import', 'tsx', 'src/server.ts'] : ['dist/server.js'];
  const child = spawn(process.execPath, [...entry, '--listen-client-urls', url, '--upstream-endpoints', endpoints.join(','), '--log-level', 'warn'], { cwd: repoRoot, stdio: 'ignore' });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`watchkv upstream node exited at start (${child.exitCode})`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return { url, child };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('watchkv upstream node not ready after 30 s');
    }
    await sleep(50);
  }
}

async function stopNode(n: Node): Promise<void> {
  if (n.child.exitCode !== null) return;
  const exited = new Promise((r) => n.child.once('exit', r));
  n.child.kill('SIGTERM');
  await exited;
}

/** Watchers spread round-robin (by stream) over several targets. */
function spread(urls: () => string[]): OpenWatchers {
  return async (_url, conns, perConn, prefix, hist) => {
    const targets = urls();
    const parts = await Promise.all(
      targets.map((u, i) => {
        const mine = Math.floor(conns / targets.length) + (i < conns % targets.length ? 1 : 0);
        return mine === 0 ? Promise.resolve([]) : openGrpcWatchers(u, mine, perConn, { key: Buffer.from(prefix), rangeEnd: Buffer.from(prefixEnd(prefix), 'latin1') }, { strictOrder: true, latency: hist });
      }),
    );
    return parts.flat();
  };
}

/**
 * Events delivered (every put to every watcher: the run's check verifies exactly that) per
 * CPU-second the tier spent over the run (writer start to the last watcher's last event).
 */
function perCpuSecond(puts: number, watchers: number, cpuPct: number, wallMs: number): number {
  return (puts * watchers) / ((cpuPct / 100) * (wallMs / 1000));
}

export function upstreamFanoutScenario(cfg: BenchConfig): Scenario {
  const sat = cfg.saturation;
  let cluster: EtcdCluster | null = null;
  let writer: WriterProcess | null = null;
  let nodes: Node[] = [];
  let leaderUrl = '';
  const run = { watchers: sat.watchers, perSocket: sat.perSocket, mode: 'flat' as const, rate: 0, concurrency: sat.writers, durationS: sat.durationS };
  const handle = (kind: ServerKind, pid: number, stop: () => Promise<void>): ServerHandle => ({
    kind,
    url: leaderUrl,
    pid,
    readyMs: 0,
    reopen: () => Promise.reject(new Error('not reopenable')),
    stop,
    output: () => '',
    alive: () => true,
  });
  return {
    id: 'upstream-fanout-sat',
    title: `upstream mode: gRPC watch fan-out at saturation over a 3-member etcd cluster, W=${sat.watchers} (${sat.perSocket}/stream), ${sat.writers} writers to etcd flat out for ${sat.durationS} s: watchers on etcd's members vs on 2 (and 1) watchkv nodes`,
    servers: ['watchkv', 'etcd'],
    checkLabel: 'every watcher got every put exactly once, in order',
    metrics: [
      { key: 'delivered', label: 'delivered events/s (watchkv: 2 nodes)', unit: 'events/s' },
      { key: 'delivered1', label: 'delivered events/s, 1 watchkv node', unit: 'events/s' },
      { key: 'writerRate', label: 'writer achieved puts/s (to etcd)', unit: 'puts/s' },
      { key: 'writerRate1', label: 'writer puts/s, 1 watchkv node', unit: 'puts/s' },
      { key: 'p99', label: 'end-to-end latency p99', unit: 'ms', decimals: 1 },
      { key: 'writerAlone', label: 'writer puts/s with no watchers (etcd side)', unit: 'puts/s' },
      { key: 'tierCpu', label: 'CPU of the watch tier (2 nodes / 3 etcd members)', unit: '% of a core' },
      { key: 'etcdCpu', label: 'CPU of the 3 etcd members (writes + watch feeding)', unit: '% of a core' },
      { key: 'perCore', label: 'delivered events per CPU-second of the tier', unit: 'events/s' },
      { key: 'serverCpu', label: 'CPU of one server process (node 1 / etcd leader)', unit: '% of a core' },
      { key: 'clientCpu', label: 'harness (watch client) CPU', unit: '% of a core' },
    ],
    async start(kind) {
      if (!cluster) {
        cluster = await EtcdCluster.start(3);
        leaderUrl = cluster.endpoints()[await cluster.waitLeader()]!;
      }
      const c = cluster;
      if (kind === 'etcd') {
        const leader = c.members.find((m) => m.clientUrl === leaderUrl)!;
        return handle('etcd', leader.proc!.pid!, async () => undefined);
      }
      nodes = [await startNode(c.endpoints()), await startNode(c.endpoints())];
      return handle('watchkv', nodes[0]!.child.pid!, async () => {
        await Promise.all(nodes.map(stopNode));
        nodes = [];
      });
    },
    async measure(server, rep) {
      writer ??= await WriterProcess.start();
      if (server.kind === 'etcd') {
        const alone = await writer.run({ url: leaderUrl, mode: 'flat', rate: 0, concurrency: run.concurrency, durationMs: run.durationS * 1000, keyPrefix: `/bench/up/alone/${rep}/`, keySpace: 100, valueBytes: 32 });
        const meters = cluster!.members.map((m) => new CpuMeter(m.proc!.pid!));
        const t0 = performance.now();
        const s = await runFanout(server, rep, run, writer, cfg.drainTimeoutS, 'etcd', spread(() => cluster!.endpoints()));
        const tierCpu = meters.reduce((a, m) => a + m.read().serverPct, 0);
        const perCore = perCpuSecond(s.figures.puts!, run.watchers, tierCpu, performance.now() - t0);
          return { ...s, figures: { ...s.figures, delivered1: Number.NaN, writerRate1: Number.NaN, writerAlone: alone.achievedRate, tierCpu, etcdCpu: tierCpu, perCore } };
      }
      if (rep === 0) await runFanout(server, 0, { ...run, durationS: 2 }, writer, cfg.drainTimeoutS, 'warmup', spread(() => nodes.map((n) => n.url)));
      const meters = nodes.map((n) => new CpuMeter(n.child.pid!));
      const etcdMeters = cluster!.members.map((m) => new CpuMeter(m.proc!.pid!));
      const t0 = performance.now();
      const two = await runFanout(server, rep, run, writer, cfg.drainTimeoutS, 'n2', spread(() => nodes.map((n) => n.url)));
      const tierCpu = meters.reduce((a, m) => a + m.read().serverPct, 0);
      const perCore = perCpuSecond(two.figures.puts!, run.watchers, tierCpu, performance.now() - t0);
      const etcdCpu = etcdMeters.reduce((a, m) => a + m.read().serverPct, 0);
      const one = await runFanout(server, rep, run, writer, cfg.drainTimeoutS, 'n1', spread(() => [nodes[0]!.url]));
      const check = two.check === 'ok' ? one.check : two.check;
      const note = [two.note, one.note && `1 node: ${one.note}`].filter(Boolean).join('; ');
      return {
        figures: { ...two.figures, delivered1: one.figures.delivered!, writerRate1: one.figures.writerRate!, writerAlone: Number.NaN, tierCpu, etcdCpu, perCore },
        check,
        ...(note ? { note } : {}),
      };
    },
    async teardown() {
      writer?.close();
      writer = null;
      await Promise.all(nodes.map(stopNode));
      nodes = [];
      await cluster?.stop();
      cluster = null;
    },
  };
}
