/**
 * SDK watch throughput against a raw WebSocket: both replay the same history (E events, 100 per
 * revision) from revision 2 over one socket from a watchkv child process, and decode each event's
 * key as a consumer would. The raw client is the `ws` package with JSON.parse per frame — the
 * least a hand-written client does; the SDK adds the watch bookkeeping (resume point, dedup,
 * event objects). Runs alternate (raw, SDK, raw, SDK, …); the best of each is reported with the
 * SDK's share of the raw figure (issue 14: at least 80 %). Prints figures, asserts nothing.
 *
 *   node --import tsx bench/client-watch.ts          (BENCH_QUICK=1: a smaller history)
 */
import WebSocket from 'ws';
import { WatchKvClient } from '../src/client/node.ts';
import { startWatchkv } from './lib/server-process.ts';
import { envInt, fmt } from './store-common.ts';
import { load } from './client-common.ts';

const EVENTS = envInt('CLIENT_BENCH_EVENTS', 100_000, 20_000);
const ROUNDS = envInt('CLIENT_BENCH_ROUNDS', 3, 2);
const PREFIX = '/bench/';
const b64 = (s: string) => Buffer.from(s).toString('base64');

function rawRun(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v3/watch', { perMessageDeflate: false });
    let n = 0;
    let keyBytes = 0;
    const t0 = performance.now();
    ws.on('open', () => ws.send(JSON.stringify({ create_request: { key: b64(PREFIX), range_end: b64('/bench0'), start_revision: 2 } })));
    ws.on('message', (data) => {
      const { result } = JSON.parse(data.toString());
      for (const ev of result.events ?? []) {
        keyBytes += Buffer.from(ev.kv.key, 'base64').toString('utf8').length;
        n++;
      }
      if (n >= EVENTS) {
        const elapsed = performance.now() - t0;
        ws.close();
        resolve(keyBytes > 0 ? elapsed : NaN);
      }
    });
    ws.on('error', reject);
  });
}

async function sdkRun(url: string): Promise<number> {
  const client = new WatchKvClient({ endpoints: [url] });
  const t0 = performance.now();
  let n = 0;
  let keyBytes = 0;
  const w = client.watch(PREFIX, { prefix: true, startRevision: 2 });
  await new Promise<void>((resolve) => {
    w.on('events', (b) => {
      for (const ev of b.events) keyBytes += ev.kv.key.length;
      n += b.events.length;
      if (n >= EVENTS) resolve();
    });
  });
  const elapsed = performance.now() - t0;
  client.close();
  return keyBytes > 0 ? elapsed : NaN;
}

const server = await startWatchkv();
try {
  const client = new WatchKvClient({ endpoints: [server.url] });
  const tl = performance.now();
  await load(client, EVENTS, (i) => `${PREFIX}${String(i % 10_000).padStart(5, '0')}`, 'v'.repeat(64));
  console.log(`  loaded ${fmt(EVENTS)} events (100 per revision) in ${fmt((performance.now() - tl) / 1000, 1)} s`);
  const raw: number[] = [];
  const sdk: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    raw.push(await rawRun(server.url));
    sdk.push(await sdkRun(server.url));
  }
  const rawBest = EVENTS / (Math.min(...raw) / 1000);
  const sdkBest = EVENTS / (Math.min(...sdk) / 1000);
  console.log(`  watch replay, raw WebSocket (ws + JSON.parse): ${fmt(rawBest)} events/s (best of ${ROUNDS}: ${raw.map((m) => fmt(m)).join(', ')} ms)`);
  console.log(`  watch replay, SDK client.watch():              ${fmt(sdkBest)} events/s (best of ${ROUNDS}: ${sdk.map((m) => fmt(m)).join(', ')} ms)`);
  console.log(`  SDK / raw: ${fmt((sdkBest / rawBest) * 100)} %`);
} finally {
  await server.stop();
}
