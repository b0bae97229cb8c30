/**
 * Scenario 4, catch-up: N events written as N/100 txns of 100 puts (distinct keys under one prefix),
 * then one watch from the first of those revisions; events/s from the create request to the last
 * event. The same history is replayed on every repetition, after one unrecorded warm-up replay. The txn write rate is reported too.
 */
import { HttpClient, writeTxns } from '../lib/http-client.ts';
import { b64, nowMs, prefixEnd, sleep } from '../lib/keys.ts';
import type { Scenario } from '../lib/scenario.ts';
import type { ServerHandle } from '../lib/server-process.ts';
import { WatchSocket } from '../lib/watch-client.ts';

const PREFIX = '/bench/catchup/';
const VALUE = b64('c'.repeat(64));
const TIMEOUT_MS = 180_000;

interface History {
  firstRev: number;
  lastRev: number;
  events: number;
  revSum: number;
  writeEps: number;
}

const histories = new WeakMap<ServerHandle, History>();

export const catchupScenario: Scenario = {
  id: 'catchup',
  title: 'catch-up: one watch replaying history written as txns of 100 puts',
  checkLabel: 'every event exactly once, in order',
  metrics: [
    { key: 'eps', label: 'catch-up events/s', unit: 'events/s' },
    { key: 'seconds', label: 'catch-up time', unit: 's', decimals: 2 },
    { key: 'writeEps', label: 'txn write (setup) events/s', unit: 'events/s' },
  ],
  async setup(server, cfg) {
    const txns = Math.ceil(cfg.catchupEvents / cfg.catchupOpsPerTxn);
    const client = new HttpClient(server.url, 4);
    try {
      const w = await writeTxns(client, {
        txns,
        opsPerTxn: cfg.catchupOpsPerTxn,
        concurrency: 4,
        keyOf: (i) => b64(`${PREFIX}${String(i).padStart(7, '0')}`),
        valueOf: () => VALUE,
      });
      // Nothing else writes to this server, so the txns hold consecutive revisions.
      if (w.lastRev - w.firstRev + 1 !== txns) throw new Error(`txns span revisions ${w.firstRev}..${w.lastRev}, expected ${txns}`);
      let revSum = 0;
      for (let r = w.firstRev; r <= w.lastRev; r++) revSum += r * cfg.catchupOpsPerTxn;
      histories.set(server, { firstRev: w.firstRev, lastRev: w.lastRev, events: txns * cfg.catchupOpsPerTxn, revSum, writeEps: (txns * cfg.catchupOpsPerTxn) / (w.ms / 1000) });
    } finally {
      client.close();
    }
  },
  async measure(server) {
    const h = histories.get(server);
    if (!h) throw new Error('catch-up history not written');
    if (!warmed.has(server)) {
      // The first replay on a fresh server runs cold (JIT, first large buffers): one unrecorded
      // replay of the same history first, as the fan-out runs do (both servers alike).
      warmed.add(server);
      await replay(server.url, h);
    }
    return replay(server.url, h);
  },
};

const warmed = new WeakSet<ServerHandle>();

async function replay(url: string, h: History): Promise<{ figures: Record<string, number>; check: string }> {
  const sock = await WatchSocket.open(url, { strictOrder: false });
  try {
    const t0 = nowMs();
    const [w] = await sock.create([{ key: b64(PREFIX), range_end: b64(prefixEnd(PREFIX)), start_revision: String(h.firstRev) }]);
    const deadline = t0 + TIMEOUT_MS;
    while (w!.events < h.events && nowMs() < deadline && !sock.closed && !w!.canceled) await sleep(5);
    const seconds = (w!.lastEventAt - t0) / 1000;
    const ok = w!.events === h.events && w!.revSum === h.revSum && w!.orderViolations === 0 && !w!.canceled && sock.problems.length === 0;
    const check = ok
      ? 'ok'
      : `FAILED: ${w!.events} of ${h.events} events${w!.orderViolations ? `, out of order (${w!.firstViolation})` : ''}${w!.canceled ? `, canceled (${w!.canceled})` : ''}${sock.problems.length ? `, ${sock.problems[0]}` : ''}`;
    return { figures: { eps: w!.events / seconds, seconds, writeEps: h.writeEps }, check };
  } finally {
    await sock.close();
  }
}
