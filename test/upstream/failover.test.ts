/**
 * The scale-out proof: a 3-member etcd cluster on loopback with two watchkv nodes in front
 * (real server processes in upstream mode). While a writer keeps writing to etcd (puts, deletes,
 * two-key txns), the etcd leader is killed, a watchkv node is killed (SIGKILL) and a new one started,
 * and etcd is compacted. Watch clients (etcd's gRPC Watch) that move to the other node resume
 * with start_revision = last revision + 1; at the end each client's events, across all its
 * sessions, must equal the upstream history exactly — every event once, in order, atomic per
 * revision, with prev_kv — and every session must pass the watch validator. The history is
 * etcd's own: a watcher on a member that is never killed.
 *
 * Deterministic in what it checks: the steps wait for event counts, not for time. Each step waits
 * for events written after it began (starting a node takes seconds under load, and a count fixed
 * in advance was often reached during that start, leaving the later steps no events at all), and
 * the end waits for each client's current session, not its earlier ones, to reach the last revision.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/etcd-server.ts';
import type { Event, RevisionChanges } from '../../src/mvcc/kv.ts';
import type { WatchCreateRequest, WatchResponse } from '../../src/watch/watch-api.ts';
import { validateWatcher, type ObservedWatcher } from '../support/watch-validator.ts';
import { EtcdGrpc, toWatchResponse } from '../api/grpc/grpc-client.ts';
import { EtcdCluster } from '../../scripts/etcd-cluster.ts';
import { sleep, until } from '../support/watch-harness.ts';

const PREFIX = '/t/';
const END = '/t0';

interface NodeProc {
  address: string;
  child: ChildProcess;
}

/** A watchkv node as a real server process (the command users run), ready when /readyz is 200. */
async function startNode(cluster: EtcdCluster): Promise<NodeProc> {
  const address = `http://127.0.0.1:${await freePort()}`;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts', '--listen-client-urls', address, '--upstream-endpoints', cluster.endpoints().join(','), '--log-level', 'warn'], {
    cwd: root,
    stdio: 'ignore',
  });
  process.once('exit', () => child.kill('SIGKILL'));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`node exited at start (${child.exitCode})`);
    try {
      if ((await fetch(`${address}/readyz`)).ok) return { address, child };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('node not ready after 60 s');
    await sleep(100);
  }
}

async function killNode(n: NodeProc, signal: NodeJS.Signals): Promise<void> {
  if (n.child.exitCode !== null || n.child.signalCode !== null) return;
  const exited = new Promise((r) => n.child.once('exit', r));
  n.child.kill(signal);
  await exited;
}

function createRequest(startRevision: number): WatchCreateRequest {
  return { key: Buffer.from(PREFIX), rangeEnd: Buffer.from(END), startRevision, progressNotify: false, prevKv: true, noPut: false, noDelete: false, watchId: 0, fragment: false };
}

/** A gRPC watch on [PREFIX, END) that moves between nodes, resuming at its last revision + 1. */
class MovingWatcher {
  readonly sessions: ObservedWatcher[] = [];
  lastRev: number;
  private current: { client: EtcdGrpc; call: any } | undefined;
  moves = 0;

  constructor(
    readonly name: string,
    start: number,
    private readonly nodes: () => string[],
  ) {
    this.lastRev = start - 1;
  }

  /** Opens a session on `url` from lastRev + 1 (closing the current one). */
  open(url: string): void {
    this.close();
    const client = new EtcdGrpc(url);
    const call = client.stream('Watch', 'Watch');
    const session: ObservedWatcher & { ended?: string } = { request: createRequest(this.lastRev + 1), responses: [] };
    this.sessions.push(session);
    const me = { client, call };
    this.current = me;
    call.on('data', (m: any) => {
      const r = toWatchResponse(m, true);
      session.responses.push(r);
      if (r.events.length > 0) this.lastRev = r.events[r.events.length - 1]!.kv.modRevision;
    });
    call.on('error', (e: { code: number; details: string }) => {
      session.ended = `${e.code} ${e.details}`;
      if (this.current !== me) return;
      // The node went away: resume on another one.
      this.current = undefined;
      client.close();
      const others = this.nodes().filter((u) => u !== url);
      this.moves++;
      if (others.length > 0) setTimeout(() => this.open(others[0]!), 10);
    });
    call.write({ create_request: { key: Buffer.from(PREFIX), range_end: Buffer.from(END), start_revision: String(this.lastRev + 1), prev_kv: true } });
  }

  close(): void {
    const c = this.current;
    this.current = undefined;
    if (c) {
      c.call.cancel();
      c.client.close();
    }
  }

  events(): Event[] {
    return this.sessions.flatMap((s) => s.responses.flatMap((r) => r.events));
  }

  /** The session now open was created and has delivered up to `rev` (itself, or before it). */
  caughtUp(rev: number): boolean {
    const current = this.sessions[this.sessions.length - 1];
    return current?.responses[0]?.created === true && this.lastRev >= rev;
  }

  /** Events the session now open has delivered. */
  currentEvents(): number {
    return this.sessions[this.sessions.length - 1]?.responses.reduce((n, r) => n + r.events.length, 0) ?? 0;
  }
}

/** etcd's own history of the range: a watcher on a member that stays up. */
class Truth {
  readonly history: RevisionChanges[] = [];
  count = 0;
  private readonly client: EtcdGrpc;
  private readonly call: any;

  constructor(url: string, start: number) {
    this.client = new EtcdGrpc(url);
    this.call = this.client.stream('Watch', 'Watch');
    this.call.on('data', (m: any) => {
      const r: WatchResponse = toWatchResponse(m, true);
      for (const ev of r.events) {
        const last = this.history[this.history.length - 1];
        if (last && last.revision === ev.kv.modRevision) last.events.push(ev);
        else this.history.push({ revision: ev.kv.modRevision, events: [ev] });
        this.count++;
      }
    });
    this.call.on('error', () => undefined);
    this.call.write({ create_request: { key: Buffer.from(PREFIX), range_end: Buffer.from(END), start_revision: String(start), prev_kv: true } });
  }

  last(): number {
    return this.history[this.history.length - 1]?.revision ?? 0;
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** Writes to etcd until stopped: puts, deletes and two-key txns over 17 keys, on any live member. */
class Writer {
  private stopped = false;
  private readonly done: Promise<void>;
  writes = 0;
  failures = 0;

  constructor(cluster: EtcdCluster) {
    const clients = cluster.endpoints().map((u) => new EtcdGrpc(u, { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 200 } as any));
    this.done = (async () => {
      for (let i = 0; !this.stopped; i++) {
        const c = clients[i % clients.length]!;
        const key = (n: number) => Buffer.from(`${PREFIX}k${n % 17}`);
        try {
          if (i % 7 === 3) await c.call('KV', 'DeleteRange', { key: key(i * 3) });
          else if (i % 11 === 5) {
            await c.call('KV', 'Txn', { success: [{ request_put: { key: key(i), value: Buffer.from(`t${i}`) } }, { request_put: { key: key(i + 1), value: Buffer.from(`u${i}`) } }] });
          } else await c.call('KV', 'Put', { key: key(i), value: Buffer.from(`v${i}`) });
          this.writes++;
        } catch {
          this.failures++;
          await sleep(20);
        }
        await sleep(3);
      }
      for (const c of clients) c.close();
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/** The client saw exactly the history's events from its start, in order, each once. */
function checkExact(w: MovingWatcher, truth: Truth, start: number, upTo: number): string[] {
  const want = truth.history.filter((rc) => rc.revision >= start && rc.revision <= upTo).flatMap((rc) => rc.events);
  const got = w.events().filter((e) => e.kv.modRevision <= upTo);
  const fmt = (e: Event) => `${e.type} ${e.kv.key}@${e.kv.modRevision}=${e.kv.value}${e.prevKv ? ` prev ${e.prevKv.value}@${e.prevKv.modRevision}` : ''}`;
  const errs: string[] = [];
  if (got.length !== want.length) errs.push(`${w.name}: ${got.length} events, history has ${want.length}`);
  for (let i = 0; i < Math.max(got.length, want.length) && errs.length < 5; i++) {
    const g = got[i] ? fmt(got[i]!) : 'nothing';
    const h = want[i] ? fmt(want[i]!) : 'nothing';
    if (g !== h) errs.push(`${w.name} event ${i}: got ${g}, history has ${h}`);
  }
  return errs;
}

test('leader kill, node restart and compaction: clients moving between nodes see every event once, in order', async () => {
  const cluster = await EtcdCluster.start(3, ['--experimental-watch-progress-notify-interval', '500ms']);
  const nodes: NodeProc[] = [];
  let truth: Truth | undefined;
  let writer: Writer | undefined;
  const clients: MovingWatcher[] = [];
  try {
    const leader = await cluster.waitLeader();
    const follower = (leader + 1) % 3;
    const status = await cluster.status(follower);
    const start = status!.revision + 1;
    truth = new Truth(cluster.endpoints()[follower]!, start);
    nodes.push(await startNode(cluster), await startNode(cluster));
    const urls = () => nodes.map((n) => n.address);
    const c1 = new MovingWatcher('c1', start, urls);
    const c2 = new MovingWatcher('c2', start, urls);
    clients.push(c1, c2);
    c1.open(nodes[0]!.address);
    c2.open(nodes[1]!.address);
    writer = new Writer(cluster);
    /** Waits for `n` more upstream events than there are now. */
    const wait = (n: number) => {
      const target = truth!.count + n;
      return until(() => truth!.count >= target, 30_000, `${target} upstream events`);
    };

    await wait(150);
    // 1. Kill the etcd leader; writes and watches go on through the other members.
    await cluster.kill(leader);
    await cluster.waitLeader();
    await wait(150);
    await cluster.restart(leader);

    // 2. Kill node A (SIGKILL): c1 moves to B by itself, resuming at its last revision + 1.
    const a = nodes.shift()!;
    await killNode(a, 'SIGKILL');
    await wait(150);
    assert.ok(c1.moves >= 1, 'c1 moved');
    // 3. Start a new node A'; c2 moves to it on purpose (a rebalance).
    nodes.unshift(await startNode(cluster));
    c2.open(nodes[0]!.address);
    await wait(150);

    // 4. Compact etcd a little behind the head: live watchers are past it and unaffected.
    const compactAt = truth.last() - 5;
    await new EtcdGrpc(cluster.endpoints()[follower]!).call('KV', 'Compact', { revision: String(compactAt) });
    await wait(100);
    // 5. c1 moves back to A' after the compaction (from its recent window or from etcd).
    c1.open(nodes[0]!.address);
    await wait(100);

    await writer.stop();
    writer = undefined;
    const upTo = truth.last();
    for (const c of clients) await until(() => c.caughtUp(upTo), 30_000, `${c.name}'s session ${c.sessions.length - 1} to reach ${upTo}`);

    const errs: string[] = [];
    for (const c of clients) {
      errs.push(...checkExact(c, truth, start, upTo));
      for (const [i, s] of c.sessions.entries()) errs.push(...validateWatcher(truth.history, s, compactAt).map((e) => `${c.name} session ${i}: ${e}`));
    }
    // On failure, say how each session went: how many responses, how it began and ended.
    const sessionsSeen = () =>
      clients.map((c) => `${c.name}: ${c.sessions.map((s: ObservedWatcher & { ended?: string }) => `[${s.responses.length} responses, first ${JSON.stringify(s.responses[0] ? { ...s.responses[0], events: s.responses[0].events.length } : null)}, ended ${s.ended ?? 'open'}]`).join(' ')}`).join('\n');
    assert.equal(errs, [], errs.length ? `${errs.join('\n')}\n${sessionsSeen()}` : undefined);
    assert.ok(clients.every((c) => c.sessions.length >= 2), 'each client used two nodes');
    // Both clients ended on the new node A' and received events there.
    for (const c of clients) assert.ok(c.currentEvents() > 0, `${c.name} got events on A'`);
    assert.ok(truth.history.some((rc) => rc.events.length === 2), 'two-key txns were in the run');
  } finally {
    for (const c of clients) c.close();
    await writer?.stop();
    truth?.close();
    for (const n of nodes) await killNode(n, 'SIGTERM');
    await cluster.stop();
  }
});

test.run();
