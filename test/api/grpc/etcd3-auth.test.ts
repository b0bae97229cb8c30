/**
 * The npm `etcd3` client with `auth: { username, password }` over gRPC, against a real etcd 3.4
 * and watchkv side by side, both with simple tokens that live 1 s: sign-in, reads and writes
 * within the user's permissions, a denied write, a wrong password, a watch, and a call after the
 * token expired (etcd3 signs in again on `invalid auth token`). Each step must end alike on both:
 * the same value, or the same error class and message.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Etcd3 } from 'etcd3';
import { startEtcdTarget, startWatchkvTarget, type Target } from '../../support/etcd-pair.ts';
import { callOutcome } from '../../support/call-outcome.ts';
import { enableAuthWithAlice } from '../../support/etcd3-auth-setup.ts';
import { until } from '../../support/watch-harness.ts';

const FLAGS = ['--auth-token-ttl', '1'];
let etcd: Target;
let wk: Target;
const clients: Etcd3[] = [];

function client(t: Target, auth?: { username: string; password: string }): Etcd3 {
  const c = new Etcd3({ hosts: t.url, ...(auth ? { auth } : {}) });
  clients.push(c);
  return c;
}

/** The same call on both servers: the outcomes must be equal. */
async function same(what: string, call: (t: Target) => Promise<unknown>): Promise<string> {
  const [e, w] = await Promise.all([callOutcome(call(etcd)), callOutcome(call(wk))]);
  assert.is(w, e, what);
  return w;
}

test.before(async () => {
  [etcd, wk] = await Promise.all([startEtcdTarget(FLAGS), startWatchkvTarget(FLAGS)]);
  for (const t of [etcd, wk]) {
    await enableAuthWithAlice(client(t));
  }
});

test.after(async () => {
  for (const c of clients) c.close();
  await Promise.all([etcd?.stop(), wk?.stop()]);
});

test('signed in: reads and writes in the role\'s range work, others are denied; a wrong password fails alike', async () => {
  const alice = new Map<Target, Etcd3>([etcd, wk].map((t) => [t, client(t, { username: 'alice', password: 'alicepw' })]));
  assert.is(await same('put in range', (t) => alice.get(t)!.put('/app/a').value('1').then(() => 'done')), 'ok "done"');
  assert.is(await same('get in range', (t) => alice.get(t)!.get('/app/a').string()), 'ok "1"');
  const denied = await same('put outside', (t) => alice.get(t)!.put('/other').value('1').exec());
  assert.match(denied, /permission denied/);
  const anon = await same('no credentials', (t) => client(t).get('/app/a').string());
  assert.match(anon, /user name is empty/);
  const wrong = await same('wrong password', (t) => client(t, { username: 'alice', password: 'nope' }).get('/app/a').string());
  assert.match(wrong, /authentication failed/);
});

test('a watch as the user sees puts in its range', async () => {
  for (const t of [etcd, wk]) {
    const c = client(t, { username: 'alice', password: 'alicepw' });
    const seen: string[] = [];
    const w = await c.watch().prefix('/app/w').create();
    w.on('put', (kv) => seen.push(kv.value.toString()));
    await c.put('/app/w1').value('x');
    await until(() => seen.length === 1, 5000, `${t === wk ? 'watchkv' : 'etcd'}: the watch sees the put`);
    await w.cancel();
  }
});

test('after the token expired the client signs in again and the call succeeds', async () => {
  const alice = new Map<Target, Etcd3>([etcd, wk].map((t) => [t, client(t, { username: 'alice', password: 'alicepw' })]));
  await same('first put', (t) => alice.get(t)!.put('/app/e').value('1').then(() => 'done'));
  await new Promise((r) => setTimeout(r, 2500)); // past the 1 s TTL (etcd checks expiry each second)
  assert.is(await same('put after expiry', (t) => alice.get(t)!.put('/app/e').value('2').then(() => 'done')), 'ok "done"');
  assert.is(await same('read back', (t) => alice.get(t)!.get('/app/e').string()), 'ok "2"');
});

test.run();
