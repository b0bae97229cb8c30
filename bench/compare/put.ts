/**
 * Scenario 1, put throughput: autocannon with 50 connections for BENCH_DURATION_S seconds, 256-byte
 * values over 10k keys (the key changes with every request). Also run against a bare fastify route
 * answering a constant: the HTTP ceiling of this machine.
 */
import autocannon from 'autocannon';
import { b64 } from '../lib/keys.ts';
import type { Scenario } from '../lib/scenario.ts';

const KEYS = 10_000;
const VALUE = b64('v'.repeat(256));
const BODIES = Array.from({ length: KEYS }, (_, i) => `{"key":"${b64(`/bench/put/${String(i).padStart(5, '0')}`)}","value":"${VALUE}"}`);

export const putScenario: Scenario = {
  id: 'put',
  title: 'put throughput (50 conns, 256 B values, 10k keys)',
  servers: ['watchkv', 'etcd', 'fastify'],
  metrics: [
    { key: 'rps', label: 'put req/s', unit: 'req/s' },
    { key: 'p50', label: 'put latency p50', unit: 'ms', decimals: 1 },
    { key: 'p99', label: 'put latency p99', unit: 'ms', decimals: 1 },
    { key: 'errors', label: 'put errors + non-2xx + timeouts', unit: 'count' },
  ],
  async measure(server, _rep, cfg) {
    let n = 0;
    const result = await autocannon({
      url: server.url,
      connections: 50,
      duration: cfg.durationS,
      requests: [
        {
          method: 'POST',
          path: '/v3/kv/put',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req) => ({ ...req, body: BODIES[n++ % KEYS]! }),
        },
      ],
    });
    return {
      figures: {
        rps: result.requests.average,
        p50: result.latency.p50,
        p99: result.latency.p99,
        errors: result.errors + result.non2xx + result.timeouts,
      },
    };
  },
};
