/**
 * Lease scenarios:
 *
 * - lease-keepalive: autocannon, 50 connections, BENCH_DURATION_S seconds; each connection loops
 *   grant (TTL 60) → keep-alive of that lease (a one-request streaming POST, as gateway clients
 *   send it). The check: every keep-alive answered with the lease's TTL.
 * - lease-expiry: BENCH_LEASE_COUNT leases with one key each, granted as fast as 32 clients can,
 *   with a TTL (BENCH_LEASE_TTL_S) long enough that all exist before the first expires. Then the
 *   time from the first lease's deadline until the last key is gone, its lag behind the last
 *   lease's deadline, and meanwhile the latency of a probe read every 20 ms: the stall other
 *   clients see (the server's event-loop delay, measured from outside, the same way for both).
 */
import autocannon from 'autocannon';
import { HttpClient } from '../lib/http-client.ts';
import { LatencyHistogram } from '../lib/histogram.ts';
import { b64, prefixEnd } from '../lib/keys.ts';
import type { Scenario } from '../lib/scenario.ts';

export const leaseKeepAliveScenario: Scenario = {
  id: 'lease-keepalive',
  title: 'lease grant + keep-alive (50 conns, each: grant TTL 60, then keep it alive once)',
  checkLabel: 'every keep-alive answered with the TTL',
  metrics: [
    { key: 'rps', label: 'grant + keep-alive req/s (both counted)', unit: 'req/s' },
    { key: 'p50', label: 'lease req latency p50', unit: 'ms', decimals: 1 },
    { key: 'p99', label: 'lease req latency p99', unit: 'ms', decimals: 1 },
    { key: 'errors', label: 'lease errors + non-2xx + timeouts', unit: 'count' },
  ],
  async measure(server, _rep, cfg) {
    let renewed = 0;
    let wrong = 0;
    const result = await autocannon({
      url: server.url,
      connections: 50,
      duration: cfg.durationS,
      requests: [
        {
          method: 'POST',
          path: '/v3/lease/grant',
          headers: { 'content-type': 'application/json' },
          body: '{"TTL":60}',
          onResponse: (_status, body, context) => {
            context.id = /"ID":"(-?\d+)"/.exec(body)?.[1];
          },
        },
        {
          method: 'POST',
          path: '/v3/lease/keepalive',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req, context) => ({ ...req, body: `{"ID":"${String(context.id)}"}` }),
          onResponse: (_status, body) => {
            if (body.includes('"TTL":"60"')) renewed++;
            else wrong++;
          },
        },
      ],
    });
    return {
      figures: { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx + result.timeouts },
      check: wrong === 0 && renewed > 0 ? 'ok' : `${wrong} keep-alives without the TTL (${renewed} fine)`,
    };
  },
};

const PREFIX = '/bench/lease/';

export const leaseExpiryScenario: Scenario = {
  id: 'lease-expiry',
  title: 'lease expiry: N leases with one key each expire together',
  checkLabel: 'every key deleted by expiry',
  metrics: [
    { key: 'expireS', label: 'first deadline to last key gone', unit: 's', decimals: 2 },
    { key: 'lagS', label: 'last deadline to last key gone', unit: 's', decimals: 2 },
    { key: 'probeP99', label: 'probe read p99 during expiry', unit: 'ms', decimals: 1 },
    { key: 'probeMax', label: 'probe read max during expiry', unit: 'ms', decimals: 1 },
    { key: 'setupPerS', label: 'setup: grant + put pairs/s (32 clients)', unit: 'pairs/s' },
  ],
  async measure(server, rep, cfg) {
    const client = new HttpClient(server.url, 40);
    const prefix = `${PREFIX}${rep}/`;
    const range = { key: b64(prefix), range_end: b64(prefixEnd(prefix)), count_only: true };
    try {
      let next = 0;
      let firstGrant = 0;
      let lastGrant = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          for (let i = next++; i < cfg.leaseCount; i = next++) {
            const at = performance.now();
            const g = await client.call<{ ID: string }>('/v3/lease/grant', `{"TTL":${cfg.leaseTtlS}}`);
            if (i === 0 || at < firstGrant) firstGrant = at;
            lastGrant = Math.max(lastGrant, performance.now());
            await client.call('/v3/kv/put', `{"key":"${b64(`${prefix}${i}`)}","value":"${b64('x')}","lease":"${g.ID}"}`);
          }
        }),
      );
      const setupS = (performance.now() - t0) / 1000;
      const firstDeadline = firstGrant + cfg.leaseTtlS * 1000;
      const lastDeadline = lastGrant + cfg.leaseTtlS * 1000;
      if (performance.now() > firstDeadline) throw new Error(`setup took ${setupS.toFixed(1)} s, longer than the TTL: raise BENCH_LEASE_TTL_S`);
      await new Promise((r) => setTimeout(r, firstDeadline - performance.now()));
      const probes = new LatencyHistogram();
      const limit = performance.now() + 120_000;
      let gone = 0;
      for (;;) {
        const at = performance.now();
        const r = await client.call<{ count?: string }>('/v3/kv/range', range);
        probes.record(performance.now() - at);
        if (!r.count) {
          gone = performance.now();
          break;
        }
        if (performance.now() > limit) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      return {
        figures: {
          expireS: gone ? (gone - firstDeadline) / 1000 : NaN,
          lagS: gone ? (gone - lastDeadline) / 1000 : NaN,
          probeP99: probes.percentile(99),
          probeMax: probes.max,
          setupPerS: cfg.leaseCount / setupS,
        },
        check: gone ? 'ok' : 'keys left after 120 s',
      };
    } finally {
      client.close();
    }
  },
};
