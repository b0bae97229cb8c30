/**
 * Work queue: durable enqueue → deliver → ack, watchkv's queue (src/queue) next to a NATS
 * JetStream work-queue stream on the same box.
 *
 * Load, the same shape on both: BENCH_QUEUE_PRODUCERS producers keep 16 items in flight each
 * (watchkv: one POST of a 16-item JSON array, its batch enqueue; NATS: 16 concurrent
 * `js.publish` awaiting their acks — JetStream has no batch publish), until BENCH_QUEUE_ITEMS
 * 100-byte items are enqueued; BENCH_QUEUE_CONSUMERS consumers, each on its own connection with
 * 64 credits (watchkv: a WebSocket consumer topping its credit up by half once half is used; NATS: one
 * durable pull consumer shared by all, each subscriber `consume({max_messages: 64})`, which
 * refills its pull the same way), ack every item at once, one ack message per item. Durability: watchkv syncs every batch before answering; NATS gets
 * `sync_interval: always` (>= 2.10, scripts/install-nats.sh), as the issue asks. A second,
 * informational row runs NATS without it (JetStream's default: fsync every 2 minutes).
 *
 * Figures: items/s from the first enqueue until the queue is empty (every ack applied: watchkv
 * stats, NATS stream state), and the latency from an item's enqueue call to its delivery.
 * Check: every item delivered, none lost; redeliveries counted. Each server first runs one
 * unrecorded pass of 5,000 items (warm-up).
 */
import { AckPolicy, RetentionPolicy, StorageType, connect, type NatsConnection } from 'nats';
import http from 'node:http';
import WebSocket from 'ws';
import { LatencyHistogram } from '../lib/histogram.ts';
import { sleep } from '../lib/keys.ts';
import type { Sample, Scenario } from '../lib/scenario.ts';
import type { BenchConfig } from '../lib/bench-config.ts';
import type { ServerHandle } from '../lib/server-process.ts';
import { natsSupportsSyncAlways } from '../lib/server-process.ts';

const IN_FLIGHT = 16;
const CREDIT = 64;
const PAD = 'x'.repeat(80);
/** items of the unrecorded warm-up pass, and its queue/stream suffix */
const WARM_ITEMS = 5000;
const WARM_REP = 999;

interface Tally {
  hist: LatencyHistogram;
  seen: Uint8Array;
  unique: number;
  redelivered: number;
}

function tally(n: number): Tally {
  return { hist: new LatencyHistogram(), seen: new Uint8Array(n), unique: 0, redelivered: 0 };
}

function note(t: Tally, i: number, sentAt: number): void {
  if (t.seen[i]) t.redelivered++;
  else {
    t.seen[i] = 1;
    t.unique++;
    t.hist.record(performance.now() - sentAt);
  }
}

/** Enqueue start times, by item index (producers and consumers share this process's clock). */
function body(i: number, sentAt: number): string {
  return `{"i":${i},"t":${sentAt.toFixed(3)},"p":"${PAD}"}`;
}

async function measureWatchkv(server: ServerHandle, rep: number, cfg: BenchConfig): Promise<Sample> {
  const name = `bench${rep}`;
  const n = cfg.queueItems;
  const t = tally(n);
  const ws = server.url.replace(/^http/, 'ws');
  let allDelivered!: () => void;
  const delivered = new Promise<void>((r) => (allDelivered = r));
  const sockets: WebSocket[] = [];
  for (let c = 0; c < cfg.queueConsumers; c++) {
    const sock = new WebSocket(`${ws}/v1/queues/${name}/consume`, { perMessageDeflate: false });
    await new Promise<void>((res, rej) => {
      sock.once('open', () => res());
      sock.once('error', rej);
    });
    // Credit is topped up in halves, as NATS's consume() refills its pull (and GenStage its
    // demand): once half of the credit is used, ask for that half again.
    let used = 0;
    sock.on('message', (data) => {
      const f = JSON.parse(data.toString());
      if (!f.deliver) return;
      const d = f.deliver;
      note(t, d.value.i, d.value.t);
      sock.send(`{"ack":"${d.id}"}`);
      if (++used === CREDIT / 2) {
        sock.send(`{"credit":${used}}`);
        used = 0;
      }
      if (t.unique === n) allDelivered();
    });
    sock.send(`{"credit":${CREDIT}}`);
    sockets.push(sock);
  }
  // node:http with keep-alive (one socket per producer): a lighter client than fetch.
  const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.queueProducers });
  const t0 = performance.now();
  let next = 0;
  const producer = async (): Promise<void> => {
    while (next < n) {
      const from = next;
      const count = Math.min(IN_FLIGHT, n - from);
      next += count;
      const now = performance.now();
      const items = Array.from({ length: count }, (_, k) => body(from + k, now)).join(',');
      const r = await postJson(agent, `${server.url}/v1/queues/${name}/items`, `[${items}]`);
      if (r.status !== 200) throw new Error(`enqueue: ${r.status} ${r.text}`);
    }
  };
  await Promise.all(Array.from({ length: cfg.queueProducers }, producer));
  await withTimeout(delivered, cfg.drainTimeoutS * 1000 + n * 5, 'watchkv: not every item was delivered');
  // Done when every ack is applied: the queue is empty.
  for (;;) {
    const st = (await (await fetch(`${server.url}/v1/queues/${name}`)).json()) as { ready: number; in_flight: number };
    if (st.ready === 0 && st.in_flight === 0) break;
    if (performance.now() - t0 > (cfg.drainTimeoutS + 60) * 1000) throw new Error(`watchkv: queue not empty: ${JSON.stringify(st)}`);
    await sleep(2);
  }
  const s = (performance.now() - t0) / 1000;
  for (const sock of sockets) sock.terminate();
  agent.destroy();
  return sample(t, n, s);
}

async function measureNats(server: ServerHandle, rep: number, cfg: BenchConfig, synced: boolean): Promise<Sample> {
  const stream = `QBENCH${rep}`;
  const subject = `qbench.${rep}`;
  const n = cfg.queueItems;
  const t = tally(n);
  const admin = await connect({ servers: server.url });
  const jsm = await admin.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [subject], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
  await jsm.consumers.add(stream, { durable_name: 'workers', ack_policy: AckPolicy.Explicit, max_ack_pending: 100_000, ack_wait: 30_000_000_000 });
  let allDelivered!: () => void;
  const delivered = new Promise<void>((r) => (allDelivered = r));
  const conns: NatsConnection[] = [];
  const stops: Array<() => void> = [];
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  for (let c = 0; c < cfg.queueConsumers; c++) {
    const nc = await connect({ servers: server.url });
    conns.push(nc);
    const consumer = await nc.jetstream().consumers.get(stream, 'workers');
    const msgs = await consumer.consume({ max_messages: CREDIT });
    stops.push(() => msgs.stop());
    void (async () => {
      for await (const m of msgs) {
        const v = JSON.parse(dec.decode(m.data));
        note(t, v.i, v.t);
        m.ack();
        if (t.unique === n) allDelivered();
      }
    })();
  }
  const producers: NatsConnection[] = [];
  for (let p = 0; p < cfg.queueProducers; p++) producers.push(await connect({ servers: server.url }));
  const t0 = performance.now();
  let next = 0;
  const producer = async (nc: NatsConnection): Promise<void> => {
    const js = nc.jetstream();
    while (next < n) {
      const from = next;
      const count = Math.min(IN_FLIGHT, n - from);
      next += count;
      const now = performance.now();
      await Promise.all(Array.from({ length: count }, (_, k) => js.publish(subject, enc.encode(body(from + k, now)))));
    }
  };
  await Promise.all(producers.map(producer));
  await withTimeout(delivered, cfg.drainTimeoutS * 1000 + n * 5, 'nats: not every item was delivered');
  for (;;) {
    const info = await jsm.streams.info(stream);
    if (info.state.messages === 0) break;
    if (performance.now() - t0 > (cfg.drainTimeoutS + 60) * 1000) throw new Error(`nats: stream not empty: ${info.state.messages}`);
    await sleep(2);
  }
  const s = (performance.now() - t0) / 1000;
  for (const stop of stops) stop();
  await Promise.all([...conns, ...producers, admin].map((c) => c.close()));
  return { ...sample(t, n, s), note: synced ? undefined : 'JetStream without sync_interval: always: fsync every 2 min, not per item' };
}

function sample(t: Tally, n: number, seconds: number): Sample {
  return {
    figures: { ips: n / seconds, p50: t.hist.percentile(50), p99: t.hist.percentile(99), redelivered: t.redelivered },
    check: t.unique === n ? 'ok' : `${n - t.unique} of ${n} items never delivered`,
  };
}

function postJson(agent: http.Agent, url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what} within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/**
 * `synced`: NATS with every item synced to disk (the comparison; needs nats-server >=
 * 2.10, else the row says so in its note), or, for the informational row, JetStream's default.
 */
export function queueScenario(cfg: BenchConfig, synced = true): Scenario {
  const natsSynced = synced && natsSupportsSyncAlways();
  const against = natsSynced ? 'NATS JetStream, every item synced' : 'NATS JetStream without per-item sync';
  return {
    id: synced ? 'queue' : 'queue-nats-async',
    title: `work queue: durable enqueue → deliver → ack (${cfg.queueItems.toLocaleString('en-US')} items, ${cfg.queueProducers} producers × ${IN_FLIGHT} in flight, ${cfg.queueConsumers} consumers × ${CREDIT} credit) vs ${against}`,
    servers: ['watchkv', 'nats'],
    startOptions: () => ({ natsSync: synced }),
    checkLabel: 'every item delivered',
    metrics: [
      { key: 'ips', label: 'items/s (enqueue to empty queue)', unit: 'items/s' },
      { key: 'p50', label: 'enqueue→deliver p50', unit: 'ms', decimals: 1 },
      { key: 'p99', label: 'enqueue→deliver p99', unit: 'ms', decimals: 1 },
      { key: 'redelivered', label: 'redeliveries', unit: 'count' },
    ],
    // An unrecorded pass first, on both servers: without it the first repetition measured Node's
    // JIT warming up (5.6k items/s, then 8-10k on the same server), while Go's NATS has none.
    async setup(server, c) {
      const warm = { ...c, queueItems: WARM_ITEMS };
      await (server.kind === 'nats' ? measureNats(server, WARM_REP, warm, natsSynced) : measureWatchkv(server, WARM_REP, warm));
    },
    measure: (server, rep, c) => (server.kind === 'nats' ? measureNats(server, rep, c, natsSynced) : measureWatchkv(server, rep, c)),
  };
}
