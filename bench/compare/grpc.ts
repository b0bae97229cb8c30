/**
 * The gRPC rows: the same loads as the HTTP rows, through etcd's gRPC API, with the same lean
 * clients for both servers: unary calls framed by hand on the socket (bench/lib/grpc-raw-conn.ts;
 * grpc-js's client spent ~85 % of a core at ~4k calls/s and node:http2's ~75-85 us a call, and
 * either set the pace for both servers), watch streams on grpc-js with hand-encoded messages
 * (bench/lib/grpc-client.ts).
 *   grpc-put:        CONNS connections × DEPTH calls in flight each, 256-byte values over 10k keys.
 *   grpc-range:      the same, one key; then a 100-key prefix.
 *   grpc-fanout-sat: the saturation fan-out (fanout.ts) with the watchers on gRPC Watch streams
 *                    (one connection per stream); the writer process puts through gRPC KV.Put
 *                    with the lean unary client (its HTTP puts capped it near 4.7k puts/s here,
 *                    below what either server could take).
 */
import { LatencyHistogram } from '../lib/histogram.ts';
import { nowMs, prefixEnd } from '../lib/keys.ts';
import type { Scenario } from '../lib/scenario.ts';
import type { BenchConfig } from '../lib/bench-config.ts';
import { GrpcConn, encodePut, encodeRange } from '../lib/grpc-client.ts';
import { openGrpcWatchers } from '../lib/grpc-watch-client.ts';
import { GrpcRawConn } from '../lib/grpc-raw-conn.ts';
import { writerScenario, type OpenWatchers } from './fanout.ts';

/** connections, and calls in flight on each: 50 concurrent calls, as the HTTP rows' 50 connections */
const CONNS = 5;
const DEPTH = 10;
const KEYS = 10_000;

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

interface UnaryConn {
  unary(path: string, request: Buffer): Promise<Buffer>;
  close(): void;
}
const rawConn = (url: string): UnaryConn => new GrpcRawConn(url);
const grpcJsConn = (url: string): UnaryConn => new GrpcConn(url);

/** Runs `requestOf(i)` calls for `durationS` with CONNS × DEPTH in flight. */
async function load(url: string, path: string, durationS: number, requestOf: (i: number) => Buffer, connect = rawConn): Promise<LoadResult> {
  const conns = Array.from({ length: CONNS }, () => connect(url));
  const hist = new LatencyHistogram();
  let done = 0;
  let errors = 0;
  let issued = 0;
  const t0 = nowMs();
  const end = t0 + durationS * 1000;
  const worker = async (conn: UnaryConn): Promise<void> => {
    while (nowMs() < end) {
      const started = nowMs();
      try {
        await conn.unary(path, requestOf(issued++));
        done++;
        hist.record(nowMs() - started);
      } catch {
        errors++;
      }
    }
  };
  try {
    await Promise.all(conns.flatMap((c) => Array.from({ length: DEPTH }, () => worker(c))));
  } finally {
    for (const c of conns) c.close();
  }
  return { rps: done / ((nowMs() - t0) / 1000), p50: hist.percentile(50), p99: hist.percentile(99), errors };
}

const PUTS = Array.from({ length: KEYS }, (_, i) => encodePut(Buffer.from(`/bench/gput/${String(i).padStart(5, '0')}`), Buffer.alloc(256, 'v')));

export const grpcPutScenario: Scenario = {
  id: 'grpc-put',
  title: `gRPC put throughput (${CONNS} conns × ${DEPTH} in flight, 256 B values, 10k keys)`,
  metrics: [
    { key: 'rps', label: 'gRPC put req/s (lean client, HTTP/2 framed by hand)', unit: 'req/s' },
    { key: 'p50', label: 'gRPC put latency p50', unit: 'ms', decimals: 1 },
    { key: 'p99', label: 'gRPC put latency p99', unit: 'ms', decimals: 1 },
    { key: 'errors', label: 'gRPC put errors', unit: 'count' },
    { key: 'grpcJsRps', label: 'gRPC put req/s, grpc-js client (client-bound: ~85 % of a core at 4k calls/s)', unit: 'req/s' },
  ],
  async measure(server, _rep, cfg) {
    const put = (i: number): Buffer => PUTS[i % KEYS]!;
    const r = await load(server.url, '/etcdserverpb.KV/Put', cfg.durationS, put);
    const js = await load(server.url, '/etcdserverpb.KV/Put', cfg.rangeDurationS, put, grpcJsConn);
    return { figures: { ...r, errors: r.errors + js.errors, grpcJsRps: js.rps } };
  },
};

const RPREFIX = '/bench/grange/';
const rkey = (i: number): Buffer => Buffer.from(`${RPREFIX}${String(i).padStart(3, '0')}`);

export const grpcRangeScenario: Scenario = {
  id: 'grpc-range',
  title: `gRPC range (${CONNS} conns × ${DEPTH} in flight): one key; a 100-key prefix`,
  metrics: [
    { key: 'singleRps', label: 'gRPC range 1 key req/s', unit: 'req/s' },
    { key: 'singleP99', label: 'gRPC range 1 key p99', unit: 'ms', decimals: 1 },
    { key: 'prefixRps', label: 'gRPC range 100-key prefix req/s', unit: 'req/s' },
    { key: 'prefixP99', label: 'gRPC range 100-key prefix p99', unit: 'ms', decimals: 1 },
    { key: 'errors', label: 'gRPC range errors', unit: 'count' },
  ],
  async setup(server) {
    const c = new GrpcRawConn(server.url);
    try {
      for (let i = 0; i < 100; i++) await c.unary('/etcdserverpb.KV/Put', encodePut(rkey(i), Buffer.alloc(256, 'r')));
    } finally {
      c.close();
    }
  },
  async measure(server, _rep, cfg) {
    const one = encodeRange(rkey(42));
    const prefix = encodeRange(Buffer.from(RPREFIX), Buffer.from(prefixEnd(RPREFIX), 'latin1'));
    const single = await load(server.url, '/etcdserverpb.KV/Range', cfg.rangeDurationS, () => one);
    const many = await load(server.url, '/etcdserverpb.KV/Range', cfg.rangeDurationS, () => prefix);
    return { figures: { singleRps: single.rps, singleP99: single.p99, prefixRps: many.rps, prefixP99: many.p99, errors: single.errors + many.errors } };
  },
};

const openGrpc: OpenWatchers = (url, conns, perConn, prefix, hist) =>
  openGrpcWatchers(url, conns, perConn, { key: Buffer.from(prefix), rangeEnd: Buffer.from(prefixEnd(prefix), 'latin1') }, { strictOrder: true, latency: hist });

export function grpcSaturationScenario(cfg: BenchConfig): Scenario {
  const sat = cfg.saturation;
  return writerScenario(
    'grpc-fanout-sat',
    `gRPC watch fan-out at saturation: W=${sat.watchers} (${sat.perSocket}/stream), ${sat.writers} writers flat out for ${sat.durationS} s`,
    { watchers: sat.watchers, perSocket: sat.perSocket, mode: 'flat', rate: 0, concurrency: sat.writers, durationS: sat.durationS, transport: 'grpc' },
    openGrpc,
  );
}
