/**
 * Scenario 5, idle watchers: many watchers over many sockets, each on its own key; server memory per
 * watcher = (VmRSS after creating them - VmRSS before) / watchers created. Fresh servers for every
 * repetition, so one repetition's heap does not pad the next. Creation is capped at
 * BENCH_IDLE_TIMEOUT_S; a server that is slower reports how many it created.
 */
import { HttpClient } from '../lib/http-client.ts';
import { b64, sleep } from '../lib/keys.ts';
import { rssBytes } from '../lib/proc-stats.ts';
import type { Scenario } from '../lib/scenario.ts';
import { WatchSocket } from '../lib/watch-client.ts';

const SETTLE_MS = 2000;

export const idleScenario: Scenario = {
  id: 'idle',
  title: 'idle watchers: one key each, many per socket; server RSS per watcher',
  freshPerRep: true,
  checkLabel: 'all watchers created',
  metrics: [
    { key: 'bytesPerWatcher', label: 'server RSS per idle watcher', unit: 'bytes' },
    { key: 'created', label: 'watchers created', unit: 'count' },
    { key: 'createRate', label: 'watch creates/s', unit: 'creates/s' },
    { key: 'rssAfterMiB', label: 'server RSS with all watchers', unit: 'MiB', decimals: 1 },
  ],
  async measure(server, _rep, cfg) {
    // Warm the request paths so the baseline is a server that has served, not a cold one.
    const client = new HttpClient(server.url, 1);
    await client.call('/v3/kv/put', { key: b64('/bench/idle-warm'), value: b64('x') });
    await client.call('/v3/kv/range', { key: b64('/bench/idle-warm') });
    client.close();
    const sockets: WatchSocket[] = [];
    for (let s = 0; s < cfg.idleSockets; s++) sockets.push(await WatchSocket.open(server.url, { strictOrder: true }));
    try {
      await sleep(500);
      const before = rssBytes(server.pid);
      const perSocket = Math.ceil(cfg.idleWatchers / cfg.idleSockets);
      const t0 = performance.now();
      const all = Promise.all(
        sockets.map((sock, s) => sock.create(Array.from({ length: perSocket }, (_, i) => ({ key: b64(`/bench/idle/${s}/${i}`) })), 50)),
      );
      all.catch(() => undefined); // a timeout closes the sockets and rejects what is still pending
      let timedOut = false;
      const failure = await Promise.race([
        all.then(() => null, (e: Error) => e.message),
        sleep(cfg.idleTimeoutS * 1000).then(() => {
          timedOut = true;
          return null;
        }),
      ]);
      const createMs = performance.now() - t0;
      const created = sockets.reduce((a, s) => a + s.watchers.length, 0);
      await sleep(SETTLE_MS);
      const after = rssBytes(server.pid);
      const notes: string[] = [];
      if (timedOut) notes.push(`only ${created} of ${perSocket * cfg.idleSockets} watchers created within ${cfg.idleTimeoutS} s`);
      if (failure) notes.push(`create failed after ${created}: ${failure}`);
      return {
        figures: {
          bytesPerWatcher: created > 0 ? (after - before) / created : Number.NaN,
          created,
          createRate: created / (createMs / 1000),
          rssAfterMiB: after / 1024 / 1024,
        },
        check: created === perSocket * cfg.idleSockets ? 'ok' : `FAILED: ${created} of ${perSocket * cfg.idleSockets} watchers created`,
        ...(notes.length ? { note: notes.join('; ') } : {}),
      };
    } finally {
      for (const s of sockets) await s.close();
    }
  },
};
