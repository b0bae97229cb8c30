/**
 * upstream-fanout-sat (issue 18): watch fan-out at saturation over a real 3-member etcd cluster
 * on loopback, the same gRPC watch clients (bench/lib/grpc-watch-client.ts) either
 *   - etcd:    spread over the cluster's three members (watching etcd directly), or
 *   - watchkv: spread over two watchkv nodes in upstream mode in front of that cluster
 *              (`node dist/server.js --upstream-endpoints …`), and again over one node.
 * The writer is the same process in both (fanout.ts's WriterProcess: 20 writers flat out), and
 * it always writes to etcd's leader through etcd's JSON gateway: watchkv forwards writes, but
 * here the question is what the watch tier delivers while the writer runs against etcd.
 * Figures: delivered events/s (2 nodes), the same with 1 node, and the writer's rate.
 * Server CPU is the first watchkv node / the leader only (one pid per handle).
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
import { runFanout, type OpenWatchers } from './fanout.ts';
import { EtcdCluster } from '../../test/upstream/etcd-cluster.ts';

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
        const s = await runFanout(server, rep, run, writer, cfg.drainTimeoutS, 'etcd', spread(() => cluster!.endpoints()));
        return { ...s, figures: { ...s.figures, delivered1: Number.NaN, writerRate1: Number.NaN } };
      }
      if (rep === 0) await runFanout(server, 0, { ...run, durationS: 2 }, writer, cfg.drainTimeoutS, 'warmup', spread(() => nodes.map((n) => n.url)));
      const two = await runFanout(server, rep, run, writer, cfg.drainTimeoutS, 'n2', spread(() => nodes.map((n) => n.url)));
      const one = await runFanout(server, rep, run, writer, cfg.drainTimeoutS, 'n1', spread(() => [nodes[0]!.url]));
      const check = two.check === 'ok' ? one.check : two.check;
      const note = [two.note, one.note && `1 node: ${one.note}`].filter(Boolean).join('; ');
      return { figures: { ...two.figures, delivered1: one.figures.delivered!, writerRate1: one.figures.writerRate! }, check, ...(note ? { note } : {}) };
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
