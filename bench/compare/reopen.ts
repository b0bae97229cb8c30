/**
 * Scenario 6, reopen: the data dir is filled with N keys (txns of 128 puts), then every repetition
 * stops the server gracefully and starts it again on the same dir; the figure is the time from
 * spawn until /v3/maintenance/status answers. A count of the keys after each reopen checks that
 * nothing was lost, and the server's RSS right after it answers (before any request) is its memory for
 * the reopened keys, index included. etcd gets an 8 GiB quota (its 2 GiB default is too small for 1M keys' history).
 */
import { HttpClient, writeTxns } from '../lib/http-client.ts';
import { b64, prefixEnd } from '../lib/keys.ts';
import type { Scenario } from '../lib/scenario.ts';
import { rssBytes } from '../lib/proc-stats.ts';
import type { ServerHandle } from '../lib/server-process.ts';

const PREFIX = '/bench/reopen/';
const VALUE = b64('o'.repeat(64));
const FILL_TIMEOUT_MS = Number(process.env.BENCH_REOPEN_FILL_TIMEOUT_S ?? 300) * 1000;
const fills = new WeakMap<ServerHandle, { keys: number; keysPerS: number }>();

export const reopenScenario: Scenario = {
  id: 'reopen',
  title: 'reopen: graceful stop, start on the same data dir, time until status answers',
  startOptions: () => ({ quotaBytes: 8 * 1024 * 1024 * 1024 }),
  checkLabel: 'all keys present after reopen',
  metrics: [
    { key: 'readyS', label: 'reopen: spawn to ready', unit: 's', decimals: 2 },
    { key: 'rssMiB', label: 'server RSS once ready', unit: 'MiB', decimals: 1 },
    { key: 'rssPerKeyB', label: 'server RSS once ready per key', unit: 'B/key' },
    { key: 'stopS', label: 'graceful stop', unit: 's', decimals: 2 },
    { key: 'keys', label: 'keys in the reopened data dir', unit: 'keys' },
    { key: 'writeKps', label: 'fill (setup) keys/s, txns of 128 puts', unit: 'keys/s' },
  ],
  async setup(server, cfg) {
    const client = new HttpClient(server.url, 4);
    try {
      const txns = Math.ceil(cfg.reopenKeys / cfg.reopenOpsPerTxn);
      const w = await writeTxns(client, {
        txns,
        opsPerTxn: cfg.reopenOpsPerTxn,
        concurrency: 4,
        keyOf: (i) => b64(`${PREFIX}${String(i).padStart(8, '0')}`),
        valueOf: () => VALUE,
        deadlineMs: FILL_TIMEOUT_MS,
      });
      const keys = w.txnsDone * cfg.reopenOpsPerTxn;
      fills.set(server, { keys, keysPerS: keys / (w.ms / 1000) });
    } finally {
      client.close();
    }
  },
  async measure(server, _rep, cfg) {
    const fill = fills.get(server);
    if (!fill) throw new Error('reopen data dir not filled');
    const { stopMs, readyMs } = await server.reopen();
    // Read before any request: what the server holds for its keys after opening, index and all.
    const rss = rssBytes(server.pid);
    const client = new HttpClient(server.url, 1);
    try {
      const r = await client.call<{ count?: string }>('/v3/kv/range', { key: b64(PREFIX), range_end: b64(prefixEnd(PREFIX)), count_only: true }, 120_000);
      const want = Math.ceil(cfg.reopenKeys / cfg.reopenOpsPerTxn) * cfg.reopenOpsPerTxn;
      const count = Number(r.count ?? 0);
      return {
        figures: { readyS: readyMs / 1000, rssMiB: rss / 2 ** 20, rssPerKeyB: rss / Math.max(1, fill.keys), stopS: stopMs / 1000, keys: count, writeKps: fill.keysPerS },
        check: count === fill.keys ? 'ok' : `FAILED: ${count} of ${fill.keys} keys after reopen`,
        ...(fill.keys < want ? { note: `fill stopped at ${fill.keys} of ${want} keys after ${FILL_TIMEOUT_MS / 1000} s (BENCH_REOPEN_FILL_TIMEOUT_S)` } : {}),
      };
    } finally {
      client.close();
    }
  },
};
