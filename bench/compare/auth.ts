/**
 * Scenario: what auth costs. On one server, each repetition measures the put load (autocannon, 50
 * connections, like `put`) and the saturation fan-out (like `fanout-sat`) twice: with auth off,
 * and with auth on as a user holding READWRITE on /bench/ (every put is checked; watchers create
 * with a token on the upgrade), turning auth off again after; which half goes first alternates
 * from one repetition to the next, so the mean is not biased by drift within a run. Figures:
 * both rates and the overhead `(off - on) / off` in percent. The target (issue 12): at most 10 % for watchkv.
 *
 * etcd runs the put half only: its WebSocket gateway's handling of the upgrade's Authorization
 * header is not what we measure here, and its fan-out is in `fanout-sat` already.
 */
import autocannon from 'autocannon';
import { b64, prefixEnd } from '../lib/keys.ts';
import type { LatencyHistogram } from '../lib/histogram.ts';
import type { Sample, Scenario } from '../lib/scenario.ts';
import type { ServerHandle } from '../lib/server-process.ts';
import { openWatchers } from '../lib/watch-client.ts';
import { WriterProcess } from '../lib/writer.ts';
import type { BenchConfig } from '../lib/bench-config.ts';
import { runFanout, type FanoutRun, type OpenWatchers } from './fanout.ts';

const KEYS = 10_000;
const VALUE = b64('v'.repeat(256));
const BODIES = Array.from({ length: KEYS }, (_, i) => `{"key":"${b64(`/bench/auth/${String(i).padStart(5, '0')}`)}","value":"${VALUE}"}`);
const ROOT_PW = 'bench-root';
const USER = 'bench';
const USER_PW = 'bench-pw';

async function call(url: string, path: string, body: object, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function login(url: string, name: string, password: string): Promise<string> {
  const r = await call(url, '/v3/auth/authenticate', { name, password });
  if (typeof r.token !== 'string') throw new Error(`authenticate ${name}: no token in ${JSON.stringify(r)}`);
  return r.token;
}

/** root (role root) and a user with READWRITE on /bench/; auth stays off. */
async function createUsers(url: string): Promise<void> {
  await call(url, '/v3/auth/user/add', { name: 'root', password: ROOT_PW });
  await call(url, '/v3/auth/user/grant', { user: 'root', role: 'root' });
  await call(url, '/v3/auth/role/add', { name: 'bench' });
  await call(url, '/v3/auth/role/grant', { name: 'bench', perm: { permType: 'READWRITE', key: b64('/bench/'), range_end: b64(prefixEnd('/bench/')) } });
  await call(url, '/v3/auth/user/add', { name: USER, password: USER_PW });
  await call(url, '/v3/auth/user/grant', { user: USER, role: 'bench' });
}

async function putRps(url: string, durationS: number, token?: string): Promise<{ rps: number; bad: number }> {
  let n = 0;
  const r = await autocannon({
    url,
    connections: 50,
    duration: durationS,
    requests: [
      {
        method: 'POST',
        path: '/v3/kv/put',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: token } : {}) },
        setupRequest: (req) => ({ ...req, body: BODIES[n++ % KEYS]! }),
      },
    ],
  });
  return { rps: r.requests.average, bad: r.errors + r.non2xx + r.timeouts };
}

function opener(token?: string): OpenWatchers {
  return (url, conns, perConn, prefix, hist: LatencyHistogram) => {
    const create = { key: b64(prefix), range_end: b64(prefixEnd(prefix)) };
    return openWatchers(url, conns, perConn, () => create, { strictOrder: true, latency: hist, ...(token ? { token } : {}) });
  };
}

const overheadPct = (off: number, on: number): number => (off > 0 ? ((off - on) / off) * 100 : NaN);

export function authScenario(cfg: BenchConfig): Scenario {
  const sat = cfg.saturation;
  const run: FanoutRun = { watchers: sat.watchers, perSocket: sat.perSocket, mode: 'flat', rate: 0, concurrency: sat.writers, durationS: sat.durationS };
  let writer: WriterProcess | null = null;
  return {
    id: 'auth',
    title: `auth on vs off: put (50 conns) and watch fan-out at saturation (W=${sat.watchers}, ${sat.writers} writers), each ${cfg.durationS} s`,
    checkLabel: 'every request 2xx; every watcher got every put exactly once, in order',
    metrics: [
      { key: 'putOff', label: 'put req/s, auth off', unit: 'req/s' },
      { key: 'putOn', label: 'put req/s, auth on', unit: 'req/s' },
      { key: 'putOverhead', label: 'put: auth overhead', unit: '%', decimals: 1 },
      { key: 'fanOff', label: 'fan-out delivered events/s, auth off', unit: 'events/s' },
      { key: 'fanOn', label: 'fan-out delivered events/s, auth on', unit: 'events/s' },
      { key: 'fanOverhead', label: 'fan-out: auth overhead', unit: '%', decimals: 1 },
    ],
    async setup(server) {
      writer ??= await WriterProcess.start();
      await createUsers(server.url);
      // Warm-up, unrecorded: otherwise the first (auth off) half runs cold and the overhead looks smaller.
      await putRps(server.url, 2);
      if (server.kind === 'watchkv') await runFanout(server, 0, { ...run, durationS: 2 }, writer, cfg.drainTimeoutS, 'auth-warm', opener());
    },
    async measure(server: ServerHandle, rep, c): Promise<Sample> {
      writer ??= await WriterProcess.start();
      const w = writer;
      const fanout = server.kind === 'watchkv';
      const problems: string[] = [];
      // Each half: the put load, then (watchkv) the saturation fan-out, with or without a token.
      const half = async (token?: string): Promise<{ put: { rps: number; bad: number }; fan: Sample | null }> => {
        const put = await putRps(server.url, c.durationS, token);
        const fan = fanout ? await runFanout(server, rep, { ...run, ...(token ? { token } : {}) }, w, c.drainTimeoutS, token ? 'auth-on' : 'auth-off', opener(token)) : null;
        return { put, fan };
      };
      const withAuth = async (): Promise<Awaited<ReturnType<typeof half>>> => {
        await call(server.url, '/v3/auth/enable', {});
        try {
          return await half(await login(server.url, USER, USER_PW));
        } finally {
          await call(server.url, '/v3/auth/disable', {}, await login(server.url, 'root', ROOT_PW));
        }
      };
      // Alternate which half goes first, so drift over a run (a growing store, a warming JIT)
      // does not count as the cost of auth: the mean over repetitions cancels it.
      let off: Awaited<ReturnType<typeof half>>;
      let on: Awaited<ReturnType<typeof half>>;
      if (rep % 2 === 0) {
        off = await half();
        on = await withAuth();
      } else {
        on = await withAuth();
        off = await half();
      }
      if (off.put.bad + on.put.bad > 0) problems.push(`put: ${off.put.bad} bad answers with auth off, ${on.put.bad} with auth on`);
      for (const f of [off.fan, on.fan]) if (f?.check && f.check !== 'ok') problems.push(f.check);
      const figures: Record<string, number> = { putOff: off.put.rps, putOn: on.put.rps, putOverhead: overheadPct(off.put.rps, on.put.rps) };
      if (off.fan && on.fan) {
        figures.fanOff = off.fan.figures.delivered!;
        figures.fanOn = on.fan.figures.delivered!;
        figures.fanOverhead = overheadPct(figures.fanOff, figures.fanOn);
      }
      return { figures, check: problems.length ? `FAILED: ${problems.join('; ')}` : 'ok' };
    },
    async teardown() {
      writer?.close();
      writer = null;
    },
  };
}
