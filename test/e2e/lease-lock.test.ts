/**
 * A distributed lock and a leader election built the usual etcd way (clientv3/concurrency's
 * Mutex and Election), from nothing but the gateway: a lease kept alive over the keep-alive
 * WebSocket, a txn that creates `prefix/<lease>` only if absent, and a watch that waits for the
 * deletion of the key just ahead (by create revision). Several clients contend; the tests assert
 * mutual exclusion, progress of every client, and that a holder whose lease expires (it stopped keeping it
 * alive, as a crashed client does) lets the next one in.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { b64, openWsWatch, post } from '../support/http-client.ts';
import { prefixEnd } from '../support/etcd-sequence.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

let s: TestServer;
test.before(async () => {
  s = await startTestServer({}, { memory: true });
});
test.after(async () => s.stop());

const unb64 = (x: string) => Buffer.from(x, 'base64').toString();

/** A client session: a lease kept alive over the keep-alive WebSocket until close(). */
class Session {
  private timer?: NodeJS.Timeout;
  private constructor(
    readonly lease: string,
    private readonly ws: WebSocket,
  ) {}

  static async open(url: string, ttl: number): Promise<Session> {
    const g = await post(url, '/v3/lease/grant', { TTL: ttl });
    const ws = new WebSocket(url.replace('http', 'ws') + '/v3/lease/keepalive');
    await new Promise((r) => ws.once('open', r));
    const session = new Session(g.body.ID, ws);
    session.timer = setInterval(() => ws.send(JSON.stringify({ ID: session.lease })), (ttl * 1000) / 3);
    return session;
  }

  /** Stops keeping the lease alive without revoking it: a crashed client. */
  abandon(): void {
    clearInterval(this.timer);
    this.ws.close();
  }

  async close(): Promise<void> {
    this.abandon();
    await post(s.url, '/v3/lease/revoke', { ID: this.lease });
  }
}

/** Waits until `key` is deleted at a revision after `rev`. */
async function waitDelete(key: string, rev: number): Promise<void> {
  const w = await openWsWatch(s.url);
  try {
    w.send({ create_request: { key: b64(key), start_revision: rev + 1, filters: ['NOPUT'] } });
    await w.waitFor((m) => m.result?.events?.some((e: any) => e.type === 'DELETE'), 20_000);
  } finally {
    await w.close();
  }
}

/**
 * Mutex.Lock / Election.Campaign: create `prefix/<lease>` if absent, then wait until every key
 * of the prefix with a smaller create revision is gone. Returns the key and its create revision.
 */
async function acquire(prefix: string, session: Session, value = ''): Promise<{ key: string; rev: number }> {
  const key = `${prefix}${BigInt(session.lease).toString(16)}`;
  const t = await post(s.url, '/v3/kv/txn', {
    compare: [{ key: b64(key), target: 'CREATE', result: 'EQUAL', create_revision: 0 }],
    success: [{ request_put: { key: b64(key), value: b64(value), lease: session.lease } }],
    failure: [{ request_range: { key: b64(key) } }],
  });
  assert.is(t.status, 200, JSON.stringify(t.body));
  const rev = t.body.succeeded ? Number(t.body.header.revision) : Number(t.body.responses[0].response_range.kvs[0].create_revision);
  for (;;) {
    // the last key ahead of ours (etcd's waitDeletes: max_create_revision = rev - 1, newest first)
    const ahead = await post(s.url, '/v3/kv/range', {
      key: b64(prefix),
      range_end: prefixEnd(prefix),
      max_create_revision: rev - 1,
      sort_target: 'CREATE',
      sort_order: 'DESCEND',
      limit: 1,
    });
    const kv = ahead.body.kvs?.[0];
    if (!kv) return { key, rev };
    await waitDelete(unb64(kv.key), Number(ahead.body.header.revision));
  }
}

async function release(key: string): Promise<void> {
  assert.is((await post(s.url, '/v3/kv/deleterange', { key: b64(key) })).status, 200);
}

test('lock: five clients, three rounds each — mutual exclusion, every client progresses', async () => {
  let holders = 0;
  const order: string[] = [];
  const client = async (c: number): Promise<void> => {
    const session = await Session.open(s.url, 5);
    for (let round = 0; round < 3; round++) {
      const { key } = await acquire('/lock/a/', session);
      holders++;
      assert.is(holders, 1, 'two clients hold the lock at once');
      order.push(`c${c}`);
      await new Promise((r) => setTimeout(r, 5 + ((c * 7 + round * 3) % 10)));
      holders--;
      await release(key);
    }
    await session.close();
  };
  await Promise.all([0, 1, 2, 3, 4].map(client));
  assert.is(order.length, 15);
  for (let c = 0; c < 5; c++) assert.is(order.filter((x) => x === `c${c}`).length, 3);
});

test('lock: a holder that stops keeping its lease alive loses the lock when the lease expires', async () => {
  const beforeGrant = Date.now();
  const crashed = await Session.open(s.url, 3);
  crashed.abandon(); // never renews, never releases: its lease ends 3 s after its grant
  const { key } = await acquire('/lock/b/', crashed);
  const next = await Session.open(s.url, 10);
  const got = await acquire('/lock/b/', next);
  const waited = Date.now() - beforeGrant;
  assert.ok(waited >= 3000, `acquired ${waited} ms after the holder's grant: before its lease could expire`);
  assert.is((await post(s.url, '/v3/kv/range', { key: b64(key) })).body.count, undefined, "the crashed holder's key was deleted by expiry");
  await release(got.key);
  await next.close();
});

test('election: the leader is the earliest live candidate; resign and lease loss hand over in order', async () => {
  const prefix = '/election/e/';
  const observer = await openWsWatch(s.url);
  observer.send({ create_request: { key: b64(prefix), range_end: prefixEnd(prefix), prev_kv: true } });
  await observer.waitFor((m) => m.result?.created);
  const names = ['alice', 'bob', 'carol'];
  const sessions = await Promise.all(names.map(() => Session.open(s.url, 5)));
  const leaders: string[] = [];
  const campaigns = names.map(async (name, i) => {
    await new Promise((r) => setTimeout(r, i * 50)); // campaign in this order
    const won = await acquire(prefix, sessions[i]!, name);
    leaders.push(name);
    return won;
  });
  const alice = await campaigns[0]!;
  // The leader is the key with the smallest create revision, as Election.Leader reads it.
  const leader = async () => {
    const r = await post(s.url, '/v3/kv/range', { key: b64(prefix), range_end: prefixEnd(prefix), sort_target: 'CREATE', sort_order: 'ASCEND', limit: 1 });
    return unb64(r.body.kvs[0].value);
  };
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(leaders, ['alice'], 'only the first candidate leads');
  assert.is(await leader(), 'alice');
  // Proclaim: the leader updates its value only while it still holds its key.
  const proclaim = await post(s.url, '/v3/kv/txn', {
    compare: [{ key: b64(alice.key), target: 'CREATE', result: 'EQUAL', create_revision: alice.rev }],
    success: [{ request_put: { key: b64(alice.key), value: b64('alice-2'), lease: sessions[0]!.lease } }],
  });
  assert.ok(proclaim.body.succeeded);
  assert.is(await leader(), 'alice-2');
  await release(alice.key); // resign
  const bob = await campaigns[1]!;
  assert.equal(leaders, ['alice', 'bob']);
  await post(s.url, '/v3/lease/revoke', { ID: sessions[1]!.lease }); // bob's session dies
  await campaigns[2]!;
  assert.equal(leaders, ['alice', 'bob', 'carol']);
  assert.is(await leader(), 'carol');
  // The observer saw each leader's key created and deleted, in order.
  await observer.settle(100);
  const seen = observer.messages.flatMap((m) => m.result?.events ?? []).map((e: any) => `${e.type ?? 'PUT'} ${unb64(e.type === 'DELETE' ? e.prev_kv.value : e.kv.value)}`);
  assert.equal(seen, ['PUT alice', 'PUT bob', 'PUT carol', 'PUT alice-2', 'DELETE alice-2', 'DELETE bob']);
  assert.ok(bob.rev < (await campaigns[2]!).rev);
  await observer.close();
  for (const x of sessions) await x.close();
});

test.run();
