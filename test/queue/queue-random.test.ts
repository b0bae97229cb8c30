/**
 * Randomised end to end: producers and 8 consumers (6 WebSocket, 2 HTTP take workers) against a
 * real server process, with
 * consumers that ack, nack (with and without delay), hang past their deadline (and sometimes ack
 * late), crash (socket cut) or disconnect at random, and a kill -9 of the server midway (then a
 * restart on the same data dir). Checked:
 *   1. every item whose enqueue was acknowledged ends exactly once: completed by one confirmed
 *      ack, or in the dead letter — never both, never neither (nothing lost), and an item whose
 *      enqueue was cut by the kill ends at most once;
 *   2. a confirmed ack is never undone (the item is never delivered again, across the kill);
 *   3. no item is held by two consumers at once unless the first one's deadline had passed;
 *   4. a nacked item comes back no sooner than its delay (backoff_min, or delay_ms) and, without
 *      a restart in between, no later than its backoff cap plus scheduling slack;
 *   5. the dead letter holds exactly the items that failed max_attempts times: each with a
 *      history of max_attempts failures, every poison item (always nacked) among them, and no
 *      item is ever delivered for an attempt beyond max_attempts;
 *   6. the queue ends empty (no ready or in-flight items).
 * Seeds: TEST_SEED=<n> replays one; TEST_SEED_COUNT (default 1) runs that many.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnServer, waitReady, type ServerProcess } from '../faults/server-process.ts';
import { Rng, testSeed } from '../support/rng.ts';
import { call, sleep, WsConsumer } from '../api/queue/queue-client.ts';
import { backoffCapMs } from '../../src/queue/backoff.ts';

const Q = 'rnd';
const SETTINGS = { visibility_ms: 300, backoff_min_ms: 5, backoff_max_ms: 40, max_attempts: 4 };
const ITEMS = 360;
const CONSUMERS = 8;

interface Conn {
  n: number;
  alive: boolean;
}
interface Hold {
  conn: Conn;
  deadline: number;
  released: boolean;
}

async function runSeed(seed: number): Promise<void> {
  const rng = new Rng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'watchkv-queue-rnd-'));
  let server: ServerProcess = await spawnServer(dir);
  await waitReady(server);
  let url = server.url;
  let up = true;
  let upWaiters: Array<() => void> = [];
  const whenUp = (): Promise<void> => (up ? Promise.resolve() : new Promise((r) => upWaiters.push(r)));
  let restarts = 0;
  const violations: string[] = [];
  const fail = (msg: string): void => {
    if (violations.length < 20) violations.push(msg);
  };

  try {
    assert.is((await call(url, 'PUT', `/v1/queues/${Q}`, SETTINGS)).status, 200);

    // ---- bookkeeping ----
    const valueOfId = new Map<string, number>();
    const certain = new Set<number>(); // values whose enqueue was acknowledged
    const poison = new Set<number>();
    const confirmedAck = new Map<string, number>(); // id → how many confirmed acks
    // The application's idempotent completion: ids it processed and acked. The confirmation may
    // never arrive (the consumer crashed right after, or the server was killed), so what is
    // checked is: an item left the queue only through one of these acks or the dead letter.
    const completed = new Set<string>();
    const holds = new Map<string, Hold>();
    const lastNack = new Map<string, { at: number; delayMs?: number; attempt: number; restarts: number }>();
    const conns = new Set<Conn>();
    let connSeq = 0;
    let stopping = false;

    const release = (id: string, conn: Conn): void => {
      const h = holds.get(id);
      if (h && h.conn === conn) h.released = true;
    };

    // ---- producers ----
    let produced = 0;
    const producer = async (): Promise<void> => {
      while (produced < ITEMS) {
        const n = Math.min(rng.int(1, 8), ITEMS - produced);
        const values = Array.from({ length: n }, () => {
          const v = produced++;
          if (rng.chance(0.05)) poison.add(v);
          return { v, poison: poison.has(v) };
        });
        await whenUp();
        try {
          const r = await call(url, 'POST', `/v1/queues/${Q}/items`, values);
          if (r.status !== 200) throw new Error(`enqueue ${r.status}`);
          r.body.ids.forEach((id: string, i: number) => {
            valueOfId.set(id, values[i]!.v);
            certain.add(values[i]!.v);
          });
        } catch {
          // cut by the kill: these values may or may not exist
        }
        await sleep(rng.int(0, 6));
      }
    };

    /**
     * What every hand-out must satisfy, over WebSocket or HTTP take: within max_attempts, never
     * after a confirmed ack, never while another live consumer holds it before its deadline, and
     * not before its nack delay (nor, over WebSocket, long after its backoff cap).
     */
    const received = (d: any, conn: Conn, now: number, attemptVerb: string, againVerb: string, to: string, checkCap: boolean): void => {
      valueOfId.set(d.id, d.value.v);
      if (d.attempt > SETTINGS.max_attempts) fail(`item ${d.id} ${attemptVerb} attempt ${d.attempt}: it should be dead after ${SETTINGS.max_attempts}`);
      if (confirmedAck.has(d.id)) fail(`item ${d.id} ${againVerb} after a confirmed ack`);
      const h = holds.get(d.id);
      if (h && !h.released && h.conn.alive && now < h.deadline) fail(`item ${d.id} held by conn ${h.conn.n} (deadline in ${h.deadline - now} ms) and ${to}`);
      holds.set(d.id, { conn, deadline: d.deadline_ms, released: false });
      const prev = lastNack.get(d.id);
      if (!prev) return;
      lastNack.delete(d.id);
      const min = prev.delayMs ?? SETTINGS.backoff_min_ms;
      if (now < prev.at + min - 2) fail(`item ${d.id} back ${now - prev.at} ms after its nack, before its delay ${min} ms`);
      if (!checkCap) return;
      const cap = prev.delayMs ?? backoffCapMs(prev.attempt, { backoffMinMs: SETTINGS.backoff_min_ms, backoffMaxMs: SETTINGS.backoff_max_ms });
      if (prev.restarts === restarts && now > prev.at + cap + 3000) fail(`item ${d.id} back ${now - prev.at} ms after its nack, cap ${cap} ms`);
    };

    // ---- consumers ----
    const onDeliver = (c: WsConsumer, conn: Conn, d: any): void => {
      const now = Date.now();
      received(d, conn, now, 'delivered for', 'delivered again', `delivered to conn ${conn.n}`, true);
      const act = rng.next();
      const processMs = rng.int(0, 10);
      const topUp = (): void => {
        if (conn.alive) c.send({ credit: 1 });
      };
      setTimeout(() => {
        if (!conn.alive) return;
        if (d.value.poison || (act >= 0.75 && act < 0.83)) {
          const delayMs = !d.value.poison && rng.chance(0.5) ? rng.int(0, 50) : undefined;
          release(d.id, conn);
          lastNack.set(d.id, { at: Date.now(), delayMs, attempt: d.attempt, restarts });
          c.send(delayMs === undefined ? { nack: d.id } : { nack: d.id, delay_ms: delayMs });
          topUp();
        } else if (act < 0.75) {
          release(d.id, conn);
          completed.add(d.id);
          c.send({ ack: d.id });
          topUp();
        } else if (act < 0.89) {
          // hang: keep it past the deadline; sometimes ack it late (a stale ack)
          topUp();
          if (rng.chance(0.5)) {
            setTimeout(() => {
              if (!conn.alive) return;
              completed.add(d.id);
              c.send({ ack: d.id });
            }, SETTINGS.visibility_ms + rng.int(50, 300));
          }
        } else if (act < 0.95) {
          conn.alive = false;
          c.terminate();
        } else {
          conn.alive = false;
          void c.close();
        }
      }, processMs);
    };

    const consumerSlot = async (): Promise<void> => {
      while (!stopping) {
        await whenUp();
        let c: WsConsumer;
        try {
          c = await WsConsumer.open(url, Q);
        } catch {
          await sleep(30);
          continue;
        }
        const conn: Conn = { n: connSeq++, alive: true };
        conns.add(conn);
        c.onFrame = (f) => {
          if (f.deliver) onDeliver(c, conn, f.deliver);
          for (const id of f.acked ?? []) confirmedAck.set(id, (confirmedAck.get(id) ?? 0) + 1);
          if (f.expired) {
            // Informational: the hold ends by its deadline, which must really have passed.
            const h = holds.get(f.expired);
            if (h && h.conn === conn && Date.now() < h.deadline) fail(`item ${f.expired} expired ${h.deadline - Date.now()} ms before its deadline`);
          }
          if (f.error) fail(`error frame: ${JSON.stringify(f.error)}`);
        };
        c.send({ credit: rng.int(1, 4) });
        await new Promise<void>((r) => c.ws.once('close', () => r()));
        conn.alive = false;
        conns.delete(conn);
        await sleep(rng.int(0, 30));
      }
    };

    // HTTP workers: take (long-poll), then ack / nack / hang / abandon. Their items have no
    // connection: they come back only by deadline, including across the kill (the deadline is
    // stored), which the double-holding check verifies.
    const httpSlot = async (): Promise<void> => {
      const conn: Conn = { n: connSeq++, alive: true };
      while (!stopping) {
        await whenUp();
        let items: any[] = [];
        try {
          const r = await call(url, 'POST', `/v1/queues/${Q}/take?max=${rng.int(1, 4)}&wait=200ms`);
          if (r.status !== 200) throw new Error(String(r.status));
          items = r.body.items;
        } catch {
          await sleep(30);
          continue;
        }
        const now = Date.now();
        for (const d of items) received(d, conn, now, 'taken for', 'taken again', `taken by http ${conn.n}`, false);
        await sleep(rng.int(0, 10));
        const acks: string[] = [];
        const nacks: string[] = [];
        for (const d of items) {
          const act = rng.next();
          if (d.value.poison || (act >= 0.75 && act < 0.85)) nacks.push(d.id);
          else if (act < 0.75) acks.push(d.id);
          // else: hang or abandon it; its deadline brings it back
        }
        try {
          if (acks.length > 0) {
            for (const id of acks) {
              release(id, conn);
              completed.add(id);
            }
            const r = await call(url, 'POST', `/v1/queues/${Q}/ack`, { ids: acks });
            for (const id of r.body.acked ?? []) confirmedAck.set(id, (confirmedAck.get(id) ?? 0) + 1);
          }
          if (nacks.length > 0) {
            const at = Date.now();
            for (const id of nacks) {
              release(id, conn);
              lastNack.set(id, { at, attempt: items.find((d) => d.id === id).attempt, restarts });
            }
            await call(url, 'POST', `/v1/queues/${Q}/nack`, { ids: nacks });
          }
        } catch {
          // cut by the kill
        }
      }
    };

    const producers = [producer(), producer()];
    const HTTP_WORKERS = 2;
    const slots = [...Array.from({ length: CONSUMERS - HTTP_WORKERS }, () => consumerSlot()), ...Array.from({ length: HTTP_WORKERS }, () => httpSlot())];

    // ---- kill -9 midway ----
    const killAt = rng.int(ITEMS * 0.3, ITEMS * 0.6);
    while (confirmedAck.size < killAt && produced < ITEMS) await sleep(10);
    up = false;
    await server.kill9();
    for (const conn of conns) conn.alive = false; // every socket died with the server (HTTP workers' takes keep their deadlines)
    restarts++;
    server = await spawnServer(dir);
    await waitReady(server);
    url = server.url;
    up = true;
    for (const w of upWaiters.splice(0)) w();

    await Promise.all(producers);
    // ---- drain: wait until the queue is empty ----
    const deadline = Date.now() + 40_000;
    for (;;) {
      const st = (await call(url, 'GET', `/v1/queues/${Q}`)).body;
      if (st.ready === 0 && st.in_flight === 0) break;
      if (Date.now() > deadline) throw new Error(`queue did not drain: ${JSON.stringify(st)}`);
      await sleep(50);
    }
    await sleep(SETTINGS.visibility_ms + 400); // late acks land
    stopping = true;
    // A graceful stop closes the consumers' sockets (1001); they see `stopping` and end.
    await server.stop();
    await Promise.race([Promise.all(slots), sleep(5000)]);
    server = await spawnServer(dir);
    await waitReady(server);
    url = server.url;

    // ---- the dead letter ----
    const dead = (await call(url, 'GET', `/v1/kv/%2Fqueues/${Q}/dead/?prefix`)).body.kvs as any[];
    const deadIds = new Set<string>();
    for (const kv of dead) {
      const id = kv.key.split('/').pop();
      const rec = JSON.parse(kv.value);
      deadIds.add(id);
      valueOfId.set(id, rec.value.v);
      if (rec.history.length !== SETTINGS.max_attempts) fail(`dead ${id}: history of ${rec.history.length} failures, not ${SETTINGS.max_attempts}`);
      if (rec.attempts !== SETTINGS.max_attempts) fail(`dead ${id}: attempts ${rec.attempts}`);
    }

    // ---- accounting ----
    const idsOfValue = new Map<number, string[]>();
    for (const [id, v] of valueOfId) idsOfValue.set(v, [...(idsOfValue.get(v) ?? []), id]);
    for (const [id, times] of confirmedAck) {
      if (times !== 1) fail(`item ${id} acked (confirmed) ${times} times`);
      if (deadIds.has(id)) fail(`item ${id} both acked (confirmed) and dead`);
    }
    for (const [v, ids] of idsOfValue) if (ids.length > 1) fail(`value ${v} enqueued as ${ids.length} items`);
    for (const v of certain) {
      const id = idsOfValue.get(v)?.[0];
      if (id === undefined || (!deadIds.has(id) && !completed.has(id))) fail(`value ${v} (enqueue acknowledged) was neither completed nor dead: lost`);
    }
    for (const v of poison) if (certain.has(v) && !deadIds.has(idsOfValue.get(v)![0]!)) fail(`poison value ${v} is not dead`);
    const st = (await call(url, 'GET', `/v1/queues/${Q}`)).body;
    if (st.ready !== 0 || st.in_flight !== 0) fail(`queue not empty after the run: ${JSON.stringify(st)}`);
    assert.ok(certain.size > ITEMS * 0.8, `most enqueues acknowledged (${certain.size})`);
    assert.ok(connSeq > CONSUMERS, 'consumers crashed and reconnected');
    assert.ok(completed.size > 0 && deadIds.size > 0, 'items were completed and items died');
    assert.equal(violations, [], `TEST_SEED=${seed}`);
  } finally {
    await server.kill9();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('random producers/consumers with crashes, hangs, nacks and a kill -9: nothing lost, nothing done twice', async () => {
  const first = testSeed();
  const count = process.env.TEST_SEED ? 1 : Number(process.env.TEST_SEED_COUNT ?? 1);
  for (let i = 0; i < count; i++) {
    const seed = first + i;
    try {
      await runSeed(seed);
    } catch (err) {
      console.error(`queue randomised test failed with TEST_SEED=${seed}`);
      throw err;
    }
  }
});

test.run();
