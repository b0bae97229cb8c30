/**
 * Scenario 2, range: autocannon (50 connections) reading one key, then a 100-key prefix, after the
 * keys were written (256-byte values).
 */
import autocannon from 'autocannon';
import { HttpClient, writeTxns } from '../lib/http-client.ts';
import { b64, prefixEnd } from '../lib/keys.ts';
import type { Scenario } from '../lib/scenario.ts';

const PREFIX = '/bench/range/';
const VALUE = b64('r'.repeat(256));
const keyOf = (i: number): string => b64(`${PREFIX}${String(i).padStart(3, '0')}`);

async function load(url: string, body: string, durationS: number): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const r = await autocannon({ url: `${url}/v3/kv/range`, connections: 50, duration: durationS, method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts };
}

export const rangeScenario: Scenario = {
  id: 'range',
  title: 'range (50 conns): one key; a 100-key prefix',
  metrics: [
    { key: 'singleRps', label: 'range 1 key req/s', unit: 'req/s' },
    { key: 'singleP99', label: 'range 1 key p99', unit: 'ms', decimals: 1 },
    { key: 'prefixRps', label: 'range 100-key prefix req/s', unit: 'req/s' },
    { key: 'prefixP99', label: 'range 100-key prefix p99', unit: 'ms', decimals: 1 },
    { key: 'errors', label: 'range errors + non-2xx', unit: 'count' },
  ],
  async setup(server) {
    const client = new HttpClient(server.url);
    try {
      await writeTxns(client, { txns: 1, opsPerTxn: 100, concurrency: 1, keyOf, valueOf: () => VALUE });
      const check = await client.call<{ count?: string }>('/v3/kv/range', { key: b64(PREFIX), range_end: b64(prefixEnd(PREFIX)), count_only: true });
      if (Number(check.count) !== 100) throw new Error(`prefix holds ${check.count} keys, expected 100`);
    } finally {
      client.close();
    }
  },
  async measure(server, _rep, cfg) {
    const single = await load(server.url, JSON.stringify({ key: keyOf(42) }), cfg.rangeDurationS);
    const prefix = await load(server.url, JSON.stringify({ key: b64(PREFIX), range_end: b64(prefixEnd(PREFIX)) }), cfg.rangeDurationS);
    return {
      figures: { singleRps: single.rps, singleP99: single.p99, prefixRps: prefix.rps, prefixP99: prefix.p99, errors: single.errors + prefix.errors },
    };
  },
};
