/**
 * Soak: holds many WebSocket watch connections while writers run for minutes, records the
 * server's memory over time and every lost, duplicated or reordered event. Not part of
 * `npm test`; run `npm run soak`.
 *
 * Env: SOAK_CONNECTIONS (10000) WebSockets, one watch each on one of SOAK_PREFIXES (100) prefixes;
 * SOAK_SECONDS (300) of writing; SOAK_WRITERS (4) concurrent writers; SOAK_HISTORY_BYTES (the
 * server's default --watch-history-bytes); SOAK_URL to soak a server that is already running
 * (default: spawn `src/server.ts` on a temporary LevelDB dir and sample its RSS from /proc);
 * SOAK_SERVER_ARGS / SOAK_NODE_ARGS: extra server flags / node flags for the spawned server.
 *
 * Exactly-once check: every prefix is written by one writer only, with values "1", "2", … in
 * order, so each watcher must see exactly 1..N for its prefix with rising revisions.
 *
 * Memory check: RSS is sampled every SAMPLE_S. The run has no compaction (as a server without
 * an operator), so two things may grow: the recent history until it reaches its byte bound, and
 * the key index by its inherent MVCC cost per revision (measured ~23 B; allowed
 * INDEX_BYTES_PER_REVISION). Warm-up ends once the history must be full (writes past its
 * capacity, from eventCost of the soak's events). After it, RSS (least-squares slope over the
 * samples) may grow by at most writes × INDEX_BYTES_PER_REVISION + NOISE_BYTES; more fails the
 * run, and so does a run too short to warm up (lower SOAK_HISTORY_BYTES or run longer).
 *
 * Exit code 0 = no violation, every acknowledged write delivered to every watcher, memory flat.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { DEFAULTS } from '../src/config.ts';
import { eventCost } from '../src/watch/recent-history.ts';
import { freePort } from './etcd-server.ts';

const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 10_000);
const PREFIXES = Number(process.env.SOAK_PREFIXES ?? 100);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const WRITERS = Number(process.env.SOAK_WRITERS ?? 4);
const HISTORY_BYTES = Number(process.env.SOAK_HISTORY_BYTES ?? DEFAULTS.watchHistoryBytes);
const MiB = 1024 * 1024;
const SAMPLE_S = 5;
/** bytes: what the key index may grow by per revision without compaction (measured ~23 B). */
const INDEX_BYTES_PER_REVISION = 64;
/** bytes: RSS wobble the check tolerates (heap sizing, LevelDB memtable and caches). */
const NOISE_BYTES = 32 * MiB;
const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Watcher {
  prefix: number;
  lastSeq: number;
  lastRev: number;
  violations: number;
  closed: boolean;
}

async function startServerProcess(): Promise<{ url: string; child?: ChildProcess; cleanup(): Promise<void> }> {
  if (process.env.SOAK_URL) return { url: process.env.SOAK_URL, cleanup: async () => {} };
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-soak-'));
  const url = `http://127.0.0.1:${await freePort()}`;
  const nodeArgs = (process.env.SOAK_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(root, 'src/server.ts'), '--listen-client-urls', url, '--data-dir', dir, '--log-level', 'warn', '--max-watch-streams', String(CONNECTIONS + 100), '--watch-history-bytes', String(HISTORY_BYTES), ...(process.env.SOAK_SERVER_ARGS ?? '').split(' ').filter(Boolean)], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b64('/') }) });
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (i > 300 || child.exitCode !== null) throw new Error('watchkv did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    cleanup: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function serverRss(child?: ChildProcess): number | undefined {
  if (!child?.pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function serverRssMiB(child?: ChildProcess): string {
  const rss = serverRss(child);
  return rss === undefined ? 'n/a' : (rss / MiB).toFixed(0);
}

interface Sample {
  t: number;
  rss: number;
  writes: number;
}

/** Least-squares slope of rss over t, bytes per second. */
function slope(samples: readonly Sample[]): number {
  const n = samples.length;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const mr = samples.reduce((a, s) => a + s.rss, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mt) * (s.rss - mr);
    den += (s.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * The memory verdict: undefined when flat after warm-up, else why not. Warm-up: 30 s, and
 * enough writes to fill the history (the soak's events all cost about the same).
 */
function memoryVerdict(samples: readonly Sample[]): { ok: boolean; text: string } {
  const soakEvent = { type: 'PUT' as const, kv: kvOf('/soak/10/k1', '12345'), prevKv: kvOf('/soak/10/k1', '12340') };
  const capacity = Math.ceil(HISTORY_BYTES / eventCost(soakEvent));
  const from = samples.findIndex((s) => s.t >= 30 && s.writes >= 1.25 * capacity);
  if (from < 0 || samples.length - from < 4) {
    return { ok: false, text: `memory plateau NOT VERIFIED: warm-up not reached (history holds ~${capacity} events; ${samples.at(-1)?.writes ?? 0} writes; lower SOAK_HISTORY_BYTES or run longer)` };
  }
  const after = samples.slice(from);
  const seconds = after.at(-1)!.t - after[0]!.t;
  const growth = slope(after) * seconds;
  const writes = after.at(-1)!.writes - after[0]!.writes;
  const allowed = writes * INDEX_BYTES_PER_REVISION + NOISE_BYTES;
  const text =
    `memory after warm-up (t=${after[0]!.t}s..${after.at(-1)!.t}s, ${writes} writes): RSS ${(after[0]!.rss / MiB).toFixed(0)} -> ${(after.at(-1)!.rss / MiB).toFixed(0)} MiB, ` +
    `trend ${(growth / MiB).toFixed(1)} MiB, allowed ${(allowed / MiB).toFixed(1)} MiB (index ${INDEX_BYTES_PER_REVISION} B/revision + ${NOISE_BYTES / MiB} MiB)`;
  return growth <= allowed ? { ok: true, text: `${text}: flat` } : { ok: false, text: `${text}: STILL GROWING` };
}

function kvOf(key: string, value: string) {
  return { key: Buffer.from(key), value: Buffer.from(value), createRevision: 1, modRevision: 1, version: 1, lease: 0n };
}

async function openWatcher(url: string, w: Watcher, problems: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v3/watch');
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const created = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      const r = JSON.parse(data.toString()).result;
      if (!r) return void problems.push(`error frame on prefix ${w.prefix}: ${data}`);
      if (r.created) return resolve();
      if (r.canceled) {
        w.violations++;
        problems.push(`watcher on prefix ${w.prefix} canceled: ${JSON.stringify(r)}`);
      }
      for (const ev of r.events ?? []) {
        const seq = Number(Buffer.from(ev.kv.value ?? '', 'base64').toString());
        const rev = Number(ev.kv.mod_revision);
        if (seq !== w.lastSeq + 1 || rev <= w.lastRev) {
          w.violations++;
          if (problems.length < 50) problems.push(`prefix ${w.prefix}: got seq ${seq}@${rev} after ${w.lastSeq}@${w.lastRev}`);
        }
        w.lastSeq = Math.max(w.lastSeq, seq);
        w.lastRev = Math.max(w.lastRev, rev);
      }
    });
  });
  ws.on('close', () => (w.closed = true));
  ws.on('error', () => {});
  ws.send(JSON.stringify({ create_request: { key: b64(`/soak/${w.prefix}/`), range_end: b64(`/soak/${w.prefix}0`) } }));
  await created;
  return ws;
}

async function main(): Promise<void> {
  const server = await startServerProcess();
  console.log(`soak: ${CONNECTIONS} WebSocket watchers on ${PREFIXES} prefixes, ${WRITERS} writers for ${SECONDS} s against ${server.url}`);
  const problems: string[] = [];
  const watchers: Watcher[] = Array.from({ length: CONNECTIONS }, (_, i) => ({ prefix: i % PREFIXES, lastSeq: 0, lastRev: 0, violations: 0, closed: false }));
  const sockets: WebSocket[] = [];
  for (let i = 0; i < watchers.length; i += 200) {
    sockets.push(...(await Promise.all(watchers.slice(i, i + 200).map((w) => openWatcher(server.url, w, problems)))));
  }
  console.log(`soak: ${sockets.length} watchers created; server RSS ${serverRssMiB(server.child)} MiB`);

  const written = new Array<number>(PREFIXES).fill(0);
  const deadline = Date.now() + SECONDS * 1000;
  let writes = 0;
  let failures = 0;
  const writer = async (w: number) => {
    for (let p = w; Date.now() < deadline; p = p + WRITERS >= PREFIXES ? w : p + WRITERS) {
      const seq = written[p]! + 1;
      const res = await fetch(`${server.url}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64(`/soak/${p}/k${seq % 5}`), value: b64(String(seq)) }) }).catch(() => undefined);
      if (res?.ok) {
        written[p] = seq;
        writes++;
      } else failures++;
      await res?.arrayBuffer();
    }
  };
  const started = Date.now();
  const samples: Sample[] = [];
  const sampler = setInterval(() => {
    const rss = serverRss(server.child);
    if (rss !== undefined) samples.push({ t: Math.round((Date.now() - started) / 1000), rss, writes });
  }, SAMPLE_S * 1000);
  const report = setInterval(() => {
    const lagging = watchers.filter((w) => w.lastSeq < written[w.prefix]!).length;
    const mem = process.memoryUsage();
    console.log(`t=${((Date.now() - started) / 1000).toFixed(0)}s writes=${writes} failed=${failures} server_rss=${serverRssMiB(server.child)}MiB client_heap=${(mem.heapUsed / MiB).toFixed(0)}MiB watchers_behind=${lagging} violations=${watchers.reduce((a, w) => a + w.violations, 0)} closed=${watchers.filter((w) => w.closed).length}`);
  }, 10_000);
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  // Drain: every watcher must reach its prefix's last acknowledged seq.
  const drainUntil = Date.now() + 60_000;
  while (Date.now() < drainUntil && watchers.some((w) => w.lastSeq < written[w.prefix]! && !w.closed)) await new Promise((r) => setTimeout(r, 500));
  clearInterval(report);
  clearInterval(sampler);
  const lost = watchers.filter((w) => w.lastSeq < written[w.prefix]!);
  const violations = watchers.reduce((a, w) => a + w.violations, 0);
  console.log(`soak done: ${writes} acknowledged writes, ${failures} failed; ${lost.length} watchers missing events; ${violations} order/duplicate violations; ${watchers.filter((w) => w.closed).length} sockets closed by the server; server RSS ${serverRssMiB(server.child)} MiB`);
  for (const p of problems.slice(0, 20)) console.log('  ' + p);
  for (const w of lost.slice(0, 10)) console.log(`  prefix ${w.prefix}: saw up to ${w.lastSeq} of ${written[w.prefix]}${w.closed ? ' (socket closed)' : ''}`);
  const memory = server.child ? memoryVerdict(samples) : { ok: true, text: 'memory not sampled (SOAK_URL)' };
  console.log(`server RSS over time (s: MiB): ${samples.map((s) => `${s.t}: ${(s.rss / MiB).toFixed(0)}`).join(', ')}`);
  console.log(memory.text);
  for (const s of sockets) s.terminate();
  await server.cleanup();
  process.exit(lost.length === 0 && violations === 0 && memory.ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
