/**
 * The shared listener: how the first bytes of a connection are classified, that a request
 * whose first bytes arrive one at a time still reaches the right server intact, and that an idle
 * keep-alive client does not hold a shutdown.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { classify } from '../../src/api/listener.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

test('classify: the HTTP/2 preface, HTTP/1.x requests, and undecided prefixes', () => {
  assert.is(classify(Buffer.from(PREFACE)), 'h2');
  assert.is(classify(Buffer.from(PREFACE + '\0\0\x12\x04')), 'h2');
  assert.is(classify(Buffer.from('GET / HTTP/1.1\r\n')), 'http1');
  assert.is(classify(Buffer.from('POST /v3/kv/range HTTP/1.1\r\n')), 'http1', 'P then O: not the preface');
  assert.is(classify(Buffer.from('PRI * HTTP/1.1\r\n')), 'http1');
  assert.is(classify(Buffer.from('P')), undefined);
  assert.is(classify(Buffer.from('PRI * HTTP/2.0\r\n')), undefined);
});

let srv: TestServer;
test.before(async () => {
  srv = await startTestServer({}, { memory: true });
});
test.after(async () => {
  await srv.stop();
});

test('an HTTP/1.1 request trickling in byte by byte is served whole', async () => {
  const { port } = new URL(srv.url);
  const sock = net.connect(Number(port), '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  let reply = '';
  sock.on('data', (d) => (reply += d));
  const req = 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  for (const ch of req.slice(0, 6)) {
    sock.write(ch);
    await new Promise((r) => setTimeout(r, 10));
  }
  sock.write(req.slice(6));
  await new Promise((r) => sock.once('close', r));
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.match(reply, /\{"health":"true"\}/);
});

test('an idle keep-alive HTTP/1.1 connection is closed at shutdown, not waited on for the grace period', async () => {
  // A grace period far beyond the runner's patience: waiting it out would fail this test.
  const own = await startTestServer({ shutdownGraceMs: 10 * 60_000 }, { memory: true });
  const sock = net.connect(Number(new URL(own.url).port), '127.0.0.1');
  let reply = '';
  sock.on('data', (d) => (reply += d));
  sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'); // keep-alive: HTTP/1.1's default
  while (!reply.includes('"health"')) await new Promise((r) => setTimeout(r, 5));
  const closedByServer = new Promise((r) => sock.once('close', r));
  const stuck = new Promise((_, reject) => setTimeout(() => reject(new Error('shutdown is waiting on an idle keep-alive connection')), 30_000).unref());
  await Promise.race([own.stop().then(() => closedByServer), stuck]);
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.not.match(reply, /connection: close/i);
});

test.run();
