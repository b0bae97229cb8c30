/**
 * gRPC's direct Watch path (src/api/grpc/fast-watch.ts): it serves grpc-js clients' streams with
 * the same answers, and a bare HTTP/2 client — the simplest gRPC client, reading frames as they
 * come — gets what grpc-js would send: responses in order as length-prefixed messages, OK when it
 * half-closes, and INTERNAL / RESOURCE_EXHAUSTED / UNAVAILABLE for bad frames, oversized messages
 * and a stopping server, always as a status the client can read.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http2 from 'node:http2';
import { status } from '@grpc/grpc-js';
import { startTestServer, type TestServer } from '../../support/test-server.ts';
import { ProtobufWriter } from '../../../src/lib/protobuf-writer.ts';
import { EtcdGrpc, buf, grpcFrame } from './grpc-client.ts';

let srv: TestServer;

test.before(async () => {
  srv = await startTestServer({ maxRequestBytes: 64 * 1024 }, { memory: true });
});
test.after(async () => {
  await srv.stop();
});

const frame = grpcFrame;

/** WatchRequest{create_request{key, range_end}} */
const create = (key: string, end?: string): Buffer => {
  const c = new ProtobufWriter().bytes(1, Buffer.from(key));
  if (end) c.bytes(2, Buffer.from(end));
  return new ProtobufWriter().message(1, c.finish()).finish();
};

/** A raw Watch stream: the messages as they arrive (split at prefixes), then the status. */
function rawWatch(session: http2.ClientHttp2Session, extra: Record<string, string> = {}) {
  const s = session.request({ ':method': 'POST', ':path': '/etcdserverpb.Watch/Watch', 'content-type': 'application/grpc', te: 'trailers', ...extra });
  const messages: Buffer[] = [];
  let inbox = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  s.on('data', (c: Buffer) => {
    inbox = Buffer.concat([inbox, c]);
    while (inbox.length >= 5 && inbox.length >= 5 + inbox.readUInt32BE(1)) {
      messages.push(inbox.subarray(5, 5 + inbox.readUInt32BE(1)));
      inbox = inbox.subarray(5 + inbox.readUInt32BE(1));
    }
    for (const w of waiters.splice(0)) w();
  });
  const done = new Promise<{ status: number; message: string; trailersOnly: boolean }>((resolve, reject) => {
    let trailersOnly = false;
    let st = -1;
    let message = '';
    const take = (h: http2.IncomingHttpHeaders, only: boolean): void => {
      if (h['grpc-status'] === undefined) return;
      [st, message, trailersOnly] = [Number(h['grpc-status']), decodeURI(String(h['grpc-message'] ?? '')), only];
    };
    // The status ends the call: a gRPC client then closes the stream, as grpc-go and grpc-js do.
    const ended = (): void => {
      resolve({ status: st, message, trailersOnly });
      s.close();
    };
    s.on('response', (h) => {
      take(h, true);
      if (st >= 0) ended();
    });
    s.on('trailers', (h) => {
      take(h, false);
      ended();
    });
    s.on('error', reject);
    s.on('close', () => resolve({ status: st, message, trailersOnly }));
  });
  const until = async (n: number): Promise<Buffer[]> => {
    while (messages.length < n) await new Promise<void>((r) => waiters.push(r));
    return messages;
  };
  return { s, messages, until, done };
}

/** Field numbers of a WatchResponse's top-level varints and its events' mod revisions. */
function readResponse(m: Buffer): { watchId: number; created: boolean; revs: number[] } {
  const out = { watchId: 0, created: false, revs: [] as number[] };
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = m[i++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  const fieldsOf = (end: number, on: (f: number, v: number, s: number, e: number) => void): void => {
    while (i < end) {
      const tag = varint();
      if ((tag & 7) === 0) on(tag >> 3, varint(), 0, 0);
      else {
        const len = varint();
        const s = i;
        i += len;
        on(tag >> 3, 0, s, s + len);
      }
    }
  };
  fieldsOf(m.length, (f, v, s, e) => {
    if (f === 2) out.watchId = v;
    if (f === 3) out.created = v === 1;
    if (f !== 11) return;
    const back = i;
    i = s;
    fieldsOf(e, (ef, _v, ks, ke) => {
      if (ef !== 2) return;
      const back2 = i;
      i = ks;
      fieldsOf(ke, (kf, kv) => kf === 3 && out.revs.push(kv));
      i = back2;
    });
    i = back;
  });
  return out;
}

test('grpc-js clients are served directly: every event once, in order, in batches', async () => {
  const before = srv.server.grpcDirect.watchStreams.count;
  const c = new EtcdGrpc(srv.url);
  const call = c.stream('Watch', 'Watch');
  const revs: number[] = [];
  let created = 0;
  call.on('data', (r: any) => {
    if (r.created) created++;
    for (const ev of r.events ?? []) revs.push(Number(ev.kv.mod_revision));
  });
  try {
    for (let i = 0; i < 3; i++) call.write({ create_request: { key: buf('fw/'), range_end: buf('fw0') } });
    while (created < 3) await new Promise((r) => setTimeout(r, 5));
    const puts: number[] = [];
    for (let i = 0; i < 200; i++) puts.push(Number((await c.call('KV', 'Put', { key: buf(`fw/${i % 7}`), value: buf(String(i)) })).header.revision));
    while (revs.length < 600) await new Promise((r) => setTimeout(r, 5));
    const sorted = [...revs].sort((a, b) => a - b);
    assert.equal(sorted, puts.flatMap((r) => [r, r, r]), 'each watcher got each put once');
  } finally {
    call.end();
    c.close();
  }
  assert.is(srv.server.grpcDirect.watchStreams.count - before, 1, 'the stream went through the direct path');
});

test('a bare HTTP/2 reader: length-prefixed responses, and OK when it half-closes', async () => {
  const session = http2.connect(srv.url);
  try {
    const w = rawWatch(session);
    w.s.write(frame(create('raw/', 'raw0')));
    const [first] = await w.until(1);
    const c = readResponse(first!);
    assert.ok(c.created, 'the created response comes first');
    const c2 = new EtcdGrpc(srv.url);
    const revs: number[] = [];
    for (let i = 0; i < 20; i++) revs.push(Number((await c2.call('KV', 'Put', { key: buf(`raw/${i}`), value: buf('v') })).header.revision));
    c2.close();
    const got: number[] = [];
    for (;;) {
      got.length = 0;
      for (const m of w.messages.slice(1)) {
        const r = readResponse(m);
        assert.is(r.watchId, c.watchId);
        got.push(...r.revs);
      }
      if (got.length >= 20) break;
      await w.until(w.messages.length + 1);
    }
    assert.equal(got, revs, 'every put once, in order');
    w.s.end();
    const end = await w.done;
    assert.is(end.status, status.OK);
    assert.is(end.trailersOnly, false, 'the status follows the messages in trailers');
  } finally {
    session.destroy();
  }
});

test('bad frames and messages end the stream with the status grpc-js and grpc-go give', async () => {
  const session = http2.connect(srv.url);
  try {
    const flagged = rawWatch(session);
    flagged.s.write(frame(create('x'), 1));
    const f = await flagged.done;
    assert.is(f.status, status.INTERNAL);
    assert.is(f.message, 'grpc: compressed flag set with identity or empty encoding');

    const big = rawWatch(session);
    const header = Buffer.alloc(5);
    header.writeUInt32BE(10 * 1024 * 1024, 1);
    big.s.write(header);
    const b = await big.done;
    assert.is(b.status, status.RESOURCE_EXHAUSTED);
    assert.is(b.message, `grpc: received message larger than max (${10 * 1024 * 1024} vs. ${64 * 1024 + 512 * 1024})`);

    const garbage = rawWatch(session);
    garbage.s.write(frame(Buffer.from([0xff, 0xff, 0xff])));
    const g = await garbage.done;
    assert.is(g.status, status.INTERNAL);
    assert.is(g.message, 'Error deserializing request');
    assert.is(g.trailersOnly, true, 'nothing was sent before: a trailers-only answer');

    const deadline = rawWatch(session, { 'grpc-timeout': 'whenever' });
    const d = await deadline.done;
    assert.is(d.status, status.INTERNAL);
    assert.match(d.message, /grpc-timeout/);

    // A created watcher, then a garbage message: the status comes after the messages.
    const late = rawWatch(session);
    late.s.write(frame(create('late/')));
    await late.until(1);
    late.s.write(frame(Buffer.from([0x0a, 0x05, 0x01])));
    const l = await late.done;
    assert.is(l.status, status.INTERNAL);
    assert.is(l.trailersOnly, false);

    const timed = rawWatch(session, { 'grpc-timeout': '100m' });
    timed.s.write(frame(create('t/')));
    const t = await timed.done;
    assert.is(t.status, status.DEADLINE_EXCEEDED);
  } finally {
    session.destroy();
  }
});

test('a request split across DATA frames, even inside its prefix, is read whole', async () => {
  const session = http2.connect(srv.url);
  try {
    const w = rawWatch(session);
    const f = Buffer.concat([frame(create('split/')), frame(create('split2/'))]);
    for (const [a, b] of [[0, 2], [2, 7], [7, 12], [12, f.length]] as const) {
      w.s.write(f.subarray(a, b));
      await new Promise((r) => setTimeout(r, 20));
    }
    const created = (await w.until(2)).map(readResponse);
    assert.equal(created.map((c) => c.created), [true, true], 'both watchers created');
    w.s.end();
    assert.is((await w.done).status, status.OK);
  } finally {
    session.destroy();
  }
});

test('auth on: the token header decides who watches, as grpc-js metadata did', async () => {
  const a = await startTestServer({}, { memory: true });
  const c = new EtcdGrpc(a.url);
  const session = http2.connect(a.url);
  try {
    await c.enableAuth('pw');
    const tok = (await c.call('Auth', 'Authenticate', { name: 'root', password: 'pw' })).token as string;
    const bad = rawWatch(session, { token: 'not-a-token' });
    bad.s.write(frame(create('a/')));
    const b = await bad.done;
    assert.is(b.status, status.UNAUTHENTICATED);
    assert.is(b.message, 'etcdserver: invalid auth token');
    const good = rawWatch(session, { token: tok });
    good.s.write(frame(create('a/')));
    assert.ok(readResponse((await good.until(1))[0]!).created);
    good.s.end();
    assert.is((await good.done).status, status.OK);
  } finally {
    c.close();
    session.destroy();
    await a.stop();
  }
});

test('a stopping server ends open streams with UNAVAILABLE and refuses new ones', async () => {
  const s2 = await startTestServer({}, { memory: true });
  const session = http2.connect(s2.url);
  try {
    const w = rawWatch(session);
    w.s.write(frame(create('stop/')));
    await w.until(1);
    const stopping = s2.stop();
    const end = await w.done;
    assert.is(end.status, status.UNAVAILABLE);
    await stopping;
  } finally {
    session.destroy();
  }
});

test.run();
