/**
 * Lease differential conformance: seeded random sequences of grant, put with lease (and txn
 * puts), delete, keep-alive (the streaming POST, or the WebSocket), revoke, timetolive, leases and short-TTL expiry
 * run against a real etcd 3.4 and against watchkv over the JSON gateway, in one global order so
 * revisions match exactly. Every reply is compared (status and body, identity fields dropped),
 * and a prev_kv watch on each sequence's prefix must deliver the same events, event by event.
 *
 * Comparison rules (not differences): a server-picked lease id is mapped from watchkv's pick to
 * etcd's; a timetolive `TTL` may differ by one second (both truncate a running clock); `keys` and
 * `leases` are compared as sets (etcd's come from a Go map / an expiry sort with ties).
 * Expiry is timed on both servers: neither may revoke before the TTL (2 s, timed from before the
 * grant), both must within 10 s, and the two within 2 s of each other (both check every 500 ms;
 * the slack is for a loaded machine, not for either server).
 *
 * A failure prints the seed: replay with TEST_SEED=<seed> (TEST_SEQUENCES=<n>, default 40).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isDeepStrictEqual } from 'node:util';
import WebSocket from 'ws';
import { Rng, testSeed } from '../support/rng.ts';
import { b64, openWsWatch, post } from '../support/http-client.ts';
import { normalize, transcript } from '../support/etcd-compare.ts';
import { LeaseSequenceGen, type LeaseOp, type LeaseSlot } from '../support/etcd-lease-sequence.ts';
import { startEtcdTarget, startWatchkvTarget, type Target } from '../support/etcd-pair.ts';

const SEED = testSeed();
const SEQUENCES = Number(process.env.TEST_SEQUENCES) || 40;
/** expiry ops cost ~2.5 s each: at most this many per run */
const MAX_EXPIRIES = Number(process.env.TEST_LEASE_EXPIRIES) || 4;
const QUIET_MS = 150;

let etcd: Target;
let wk: Target;

test.before(async () => {
  [etcd, wk] = await Promise.all([startEtcdTarget(), startWatchkvTarget()]);
});
test.after(async () => {
  await Promise.all([etcd?.stop(), wk?.stop()]);
});

function fail(seq: number, op: number, what: string, detail: unknown): never {
  throw new Error(`lease differential mismatch (replay: TEST_SEED=${SEED}) sequence ${seq} op ${op}: ${what}\n${JSON.stringify(detail, null, 1).slice(0, 5000)}`);
}

/** Keep-alive stream lines of a POST whose body holds every request. */
function lines(text: unknown): any[] {
  if (typeof text !== 'string') return [text];
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

/** Keep-alives over a WebSocket on /v3/lease/keepalive: one frame per id, the answers parsed. */
async function wsKeepAlive(url: string, ids: string[]): Promise<any[]> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v3/lease/keepalive');
  const frames: any[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const all = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keep-alive WebSocket: ${frames.length}/${ids.length} answers`)), 5000);
    ws.on('message', (d) => {
      frames.push(JSON.parse(d.toString()));
      if (frames.length === ids.length) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  for (const ID of ids) ws.send(JSON.stringify({ ID }));
  await all;
  ws.close();
  return frames;
}

class Runner {
  private readonly aliases = new Map<string, string>();

  /** watchkv's reply in etcd's terms: server-picked lease ids replaced by etcd's. */
  private unalias(v: any): any {
    if (this.aliases.size === 0) return v;
    let s = JSON.stringify(v);
    for (const [w, e] of this.aliases) s = s.replaceAll(`"${w}"`, `"${e}"`);
    return JSON.parse(s);
  }

  /** Normalized forms of both replies, with the tolerated differences folded away. */
  compareForm(path: string, e: any, w: any): [any, any] {
    const ne = normalize(e);
    const nw = normalize(this.unalias(w));
    for (const [a, b] of [[ne, nw], [nw, ne]] as const) {
      if (Array.isArray(a?.keys)) a.keys.sort();
      if (Array.isArray(a?.leases)) a.leases.sort((x: any, y: any) => (x.ID < y.ID ? -1 : 1));
      if (path.endsWith('/timetolive') && a?.TTL !== undefined && b?.TTL !== undefined && Math.abs(Number(a.TTL) - Number(b.TTL)) <= 1) a.TTL = b.TTL;
    }
    return [ne, nw];
  }

  alias(slot: LeaseSlot, e: any, w: any): void {
    slot.id = e.ID;
    slot.wk = w.ID;
    this.aliases.set(w.ID, e.ID);
  }
}

test(`${SEQUENCES} random lease sequences agree with etcd (seed ${SEED})`, async () => {
  const rng = new Rng(SEED);
  const runner = new Runner();
  let expiries = 0;
  let compared = 0;
  for (let seq = 0; seq < SEQUENCES; seq++) {
    const gen = new LeaseSequenceGen(rng, seq);
    const [wsE, wsW] = await Promise.all([openWsWatch(etcd.url), openWsWatch(wk.url)]);
    const create = { create_request: { ...gen.range, prev_kv: true } };
    wsE.send(create);
    wsW.send(create);
    await Promise.all([wsE.waitFor((m) => m.result?.created), wsW.waitFor((m) => m.result?.created)]);
    const n = rng.int(8, 20);
    const run = async (op: LeaseOp, i: number): Promise<void> => {
      if (op.kind === 'unary') {
        const [re, rw] = await Promise.all([post(etcd.url, op.path, op.body('e')), post(wk.url, op.path, op.body('w'))]);
        if (op.autoId && re.status === 200 && rw.status === 200) runner.alias(op.slot!, re.body, rw.body);
        const [ne, nw] = runner.compareForm(op.path, re.body, rw.body);
        if (re.status !== rw.status || !isDeepStrictEqual(ne, nw)) fail(seq, i, `${op.path} differs`, { req: op.body('e'), etcd: [re.status, ne], watchkv: [rw.status, nw] });
        compared++;
        if (op.path === '/v3/lease/grant' && op.slot && re.status === 200) {
          op.slot.live = true;
          gen.slots.push(op.slot);
        }
        if (op.path.endsWith('/revoke') && re.status === 200) {
          const slot = gen.slots.find((s) => s.id === String(op.body('e').ID));
          if (slot) slot.live = false;
        }
        return;
      }
      if (op.kind === 'keepalive') {
        if (op.websocket) {
          // etcd serves every stream over WebSocket too (grpc-websocket-proxy): a frame each way.
          const [fe, fw] = await Promise.all([wsKeepAlive(etcd.url, op.ids('e')), wsKeepAlive(wk.url, op.ids('w'))]);
          const [ne, nw] = runner.compareForm('/v3/lease/keepalive', fe, fw);
          if (!isDeepStrictEqual(ne, nw)) fail(seq, i, 'keepalive over WebSocket differs', { ids: op.ids('e'), etcd: ne, watchkv: nw });
          compared++;
          return;
        }
        const body = (t: 'e' | 'w') => op.ids(t).map((ID) => JSON.stringify({ ID })).join('');
        const [re, rw] = await Promise.all([post(etcd.url, '/v3/lease/keepalive', body('e')), post(wk.url, '/v3/lease/keepalive', body('w'))]);
        const [ne, nw] = runner.compareForm('/v3/lease/keepalive', lines(re.body), lines(rw.body));
        if (re.status !== rw.status || !isDeepStrictEqual(ne, nw)) fail(seq, i, 'keepalive differs', { req: body('e'), etcd: ne, watchkv: nw });
        compared++;
        return;
      }
      // expire: a short lease with keys, then wait for both servers to revoke it on their own.
      const grant = { TTL: op.ttl, ID: op.id };
      const started = Date.now();
      await run({ kind: 'unary', path: '/v3/lease/grant', body: () => grant, slot: { id: op.id, wk: op.id, live: false } }, i);
      for (const k of op.keys) await run({ kind: 'unary', path: '/v3/kv/put', body: () => ({ key: b64(k), value: b64('short'), lease: op.id }) }, i);
      if (op.keepalive) await run({ kind: 'keepalive', ids: () => [op.id] }, i);
      const gone = async (url: string): Promise<number> => {
        for (;;) {
          const t = await post(url, '/v3/lease/timetolive', { ID: op.id });
          if (t.body.TTL === '-1') return Date.now() - started;
          if (Date.now() - started > 15_000) return Infinity;
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      const [te, tw] = await Promise.all([gone(etcd.url), gone(wk.url)]);
      // Never before the 2 s minimum TTL (timed from before the grant); then within a tolerance.
      const ok = (t: number) => t >= 2000 && t <= 10_000;
      if (!ok(te) || !ok(tw) || Math.abs(te - tw) > 2000) fail(seq, i, 'expiry timing', { ttl: op.ttl, etcdMs: te, watchkvMs: tw });
      const slot = gen.slots.find((s) => s.id === op.id);
      if (slot) slot.live = false;
      const [ce, cw] = await Promise.all([post(etcd.url, '/v3/kv/range', gen.range), post(wk.url, '/v3/kv/range', gen.range)]);
      if (!isDeepStrictEqual(normalize(ce.body), normalize(runner.compareForm('', ce.body, cw.body)[1]))) fail(seq, i, 'state after expiry', { etcd: ce.body, watchkv: cw.body });
    };
    for (let i = 0; i < n; i++) {
      let op = gen.next();
      if (op.kind === 'expire' && expiries >= MAX_EXPIRIES) op = gen.next();
      if (op.kind === 'expire') {
        if (expiries >= MAX_EXPIRIES) continue;
        expiries++;
      }
      await run(op, i);
    }
    // Leave nothing alive for the next sequence: revoke what is left, on both, compared.
    for (const s of gen.slots.filter((x) => x.live)) await run({ kind: 'unary', path: '/v3/lease/revoke', body: (t) => ({ ID: t === 'e' ? s.id : s.wk }) }, n);
    await Promise.all([wsE.settle(QUIET_MS), wsW.settle(QUIET_MS)]);
    const [te, tw] = [transcript(wsE.messages, undefined), runner.compareForm('', null, transcript(wsW.messages, undefined))[1]];
    if (!isDeepStrictEqual(te, tw)) fail(seq, n, 'watch transcripts differ', { etcd: te, watchkv: tw });
    await Promise.all([wsE.close(), wsW.close()]);
  }
  assert.ok(compared > SEQUENCES * 5, `compared ${compared} replies`);
  if (SEQUENCES >= 20) assert.ok(expiries > 0, 'at least one expiry was exercised');
});

test.run();
