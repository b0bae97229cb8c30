/**
 * Every size and duration of the compare run, read once from the environment. BENCH_QUICK=1 shrinks
 * everything for development; any explicit variable still wins over the quick defaults.
 */

export interface FanoutShape {
  /** watchers in total, all on one prefix */
  watchers: number;
  /** watchers multiplexed on one WebSocket */
  perSocket: number;
}

export interface BenchConfig {
  quick: boolean;
  /** alternating repetitions per scenario and server (issue: at least 2) */
  repeat: number;
  /** s: length of one put load run (autocannon) */
  durationS: number;
  /** s: length of one range load run (single key and prefix each) */
  rangeDurationS: number;
  /** puts/s of the paced fan-out writer */
  fanoutRate: number;
  /** s: how long the paced writer writes */
  fanoutDurationS: number;
  fanoutShapes: FanoutShape[];
  /** the saturation variant: watchers, concurrent writers, seconds */
  saturation: FanoutShape & { writers: number; durationS: number };
  /** s: how long to wait after the writer stops for every watcher to catch up */
  drainTimeoutS: number;
  catchupEvents: number;
  catchupOpsPerTxn: number;
  idleWatchers: number;
  idleSockets: number;
  /** s: cap on creating all idle watchers on one server */
  idleTimeoutS: number;
  reopenKeys: number;
  reopenOpsPerTxn: number;
  /** lease-expiry: leases (one key each) left to expire at about the same time */
  leaseCount: number;
  /** lease-expiry: their TTL, long enough for all grants and puts to finish first */
  leaseTtlS: number;
  /** scenario ids to run; empty = all */
  only: string[];
  /** servers to run (BENCH_SERVERS, default all: watchkv, etcd, the fastify ceiling and NATS) */
  servers: string[];
  /** queue: items per run (enqueued, delivered and acked), producers, consumers */
  queueItems: number;
  queueProducers: number;
  queueConsumers: number;
}

function num(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return v;
}

export function loadBenchConfig(): BenchConfig {
  const quick = process.env.BENCH_QUICK === '1';
  const durationS = num('BENCH_DURATION_S', quick ? 3 : 10);
  return {
    quick,
    repeat: Math.max(1, Math.floor(num('BENCH_REPEAT', 2))),
    durationS,
    rangeDurationS: num('BENCH_RANGE_DURATION_S', Math.max(2, durationS / 2)),
    fanoutRate: num('BENCH_FANOUT_RATE', 1000),
    fanoutDurationS: num('BENCH_FANOUT_DURATION_S', durationS),
    fanoutShapes: [
      { watchers: 100, perSocket: 10 },
      { watchers: 1000, perSocket: 100 },
    ],
    saturation: {
      watchers: num('BENCH_SAT_WATCHERS', 1000),
      perSocket: num('BENCH_SAT_PER_SOCKET', 100),
      writers: num('BENCH_SAT_WRITERS', 20),
      durationS: num('BENCH_SAT_DURATION_S', durationS),
    },
    drainTimeoutS: num('BENCH_DRAIN_TIMEOUT_S', quick ? 10 : 20),
    catchupEvents: num('BENCH_CATCHUP_EVENTS', quick ? 20_000 : 100_000),
    catchupOpsPerTxn: 100,
    idleWatchers: num('BENCH_IDLE_WATCHERS', quick ? 10_000 : 100_000),
    idleSockets: num('BENCH_IDLE_SOCKETS', quick ? 10 : 100),
    idleTimeoutS: num('BENCH_IDLE_TIMEOUT_S', quick ? 30 : 90),
    reopenKeys: num('BENCH_REOPEN_KEYS', quick ? 50_000 : 1_000_000),
    reopenOpsPerTxn: 128,
    leaseCount: num('BENCH_LEASE_COUNT', quick ? 2_000 : 10_000),
    leaseTtlS: num('BENCH_LEASE_TTL_S', quick ? 10 : 30),
    only: (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    queueItems: num('BENCH_QUEUE_ITEMS', quick ? 5_000 : 20_000),
    queueProducers: num('BENCH_QUEUE_PRODUCERS', 4),
    queueConsumers: num('BENCH_QUEUE_CONSUMERS', 8),
    servers: (process.env.BENCH_SERVERS ?? 'watchkv,etcd,fastify,nats').split(',').map((s) => s.trim()).filter(Boolean),
  };
}

/** The environment variables that shaped this run, for the results file and RESULTS.md. */
export function benchEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('BENCH_') && v !== undefined) out[k] = v;
  return out;
}
