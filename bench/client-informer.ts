/**
 * Informer list and relist of K keys (default 100,000) from a watchkv child process: the first
 * sync (paged list + watch), then a forced relist (1 % of the keys changed and the history
 * compacted while the socket was down) timed from the network's return to the relist's end, with the
 * number of synthetic changes it emitted. Prints figures, asserts nothing.
 *
 *   node --import tsx bench/client-informer.ts       (BENCH_QUICK=1: 10,000 keys)
 */
import { WatchKvClient } from '../src/client/node.ts';
import { startWatchkv } from './lib/server-process.ts';
import { envInt, fmt } from './store-common.ts';
import { load } from './client-common.ts';
import { startTcpProxy } from '../test/client/support/tcp-proxy.ts';

const KEYS = envInt('CLIENT_BENCH_KEYS', 100_000, 10_000);
const PAGE = envInt('CLIENT_BENCH_PAGE', 5_000);
const key = (i: number) => `/inf/${String(i).padStart(7, '0')}`;

const server = await startWatchkv();
try {
  const client = new WatchKvClient({ endpoints: [server.url] });
  // The informer reaches the server through a proxy whose network the bench can cut.
  const proxy = await startTcpProxy(Number(new URL(server.url).port));
  const informerClient = new WatchKvClient({ endpoints: [proxy.url], backoff: { initialMs: 10, maxMs: 50 } });
  const tl = performance.now();
  await load(client, KEYS, key, 'x'.repeat(100));
  console.log(`  loaded ${fmt(KEYS)} keys in ${fmt((performance.now() - tl) / 1000, 1)} s`);

  const inf = informerClient.informer('/inf/', { pageSize: PAGE });
  let changes = 0;
  inf.on('change', () => changes++);
  const t0 = performance.now();
  await inf.synced();
  const listMs = performance.now() - t0;
  console.log(`  informer first sync of ${fmt(inf.size)} keys: ${fmt(listMs)} ms (${fmt(inf.size / (listMs / 1000))} keys/s, pages of ${fmt(PAGE)})`);

  // Cut the network, change 1 % of the keys and compact: the watch cannot resume → relist + diff.
  proxy.cut();
  changes = 0;
  const changed = Math.max(1, Math.floor(KEYS / 100));
  await load(client, changed, (i) => key(i * 100), 'changed');
  // One more write outside the prefix, so the compaction passes the informer's resume point.
  const last = await client.put('/outside', 'x');
  const relisted = new Promise<void>((r) => inf.on('synced', (s) => s.relist && r()));
  await client.compact(last.revision);
  const t1 = performance.now();
  proxy.restore();
  await relisted;
  const relistMs = performance.now() - t1;
  console.log(`  informer relist of ${fmt(inf.size)} keys after compaction: ${fmt(relistMs)} ms (${fmt(inf.size / (relistMs / 1000))} keys/s), ${fmt(changes)} synthetic changes for ${fmt(changed)} changed keys`);
  inf.close();
  informerClient.close();
  client.close();
  await proxy.close();
} finally {
  await server.stop();
}
