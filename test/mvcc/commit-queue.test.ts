/** Group commit: batching, one write at a time, order of publication and acknowledgement, failure. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, BatchOp } from '../../src/backend/backend.ts';
import { CommitQueue, type PendingCommit } from '../../src/mvcc/commit-queue.ts';

/** A backend whose writes finish only when the test says so; it logs what happens, in order. */
function gatedBackend(log: string[]) {
  const gates: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  const backend = {
    write(ops: readonly BatchOp[]): Promise<void> {
      log.push(`write ${ops.map((o) => o.key.toString()).join(',')}`);
      return new Promise<void>((resolve, reject) => gates.push({ resolve, reject }));
    },
  } as unknown as Backend;
  return { backend, gates };
}

const op = (k: string): BatchOp => ({ type: 'put', key: Buffer.from(k), value: Buffer.from('v') });
const commit = (revision: number): PendingCommit => ({ revision, events: [] });
const turn = () => new Promise<void>((r) => setImmediate(r));
const failure = (p: Promise<unknown>): Promise<string> => p.then(() => 'resolved', (e: Error) => e.message);

test('writers of one tick share a batch; later ones gather into the next while it is written', async () => {
  const log: string[] = [];
  const { backend, gates } = gatedBackend(log);
  const q = new CommitQueue(backend, { durable: (cs) => log.push(`durable ${cs.map((c) => c.revision)}`), failed: () => log.push('failed') });
  const acked: number[] = [];
  q.append([op('a')], commit(2)).then(() => acked.push(2));
  q.append([op('b')], commit(3)).then(() => acked.push(3));
  await turn();
  assert.equal(log, ['write a,b']);
  q.append([op('c')], commit(4)).then(() => acked.push(4));
  q.append([op('d')], commit(5)).then(() => acked.push(5));
  await turn();
  assert.equal(log, ['write a,b'], 'one write at a time');
  gates[0]!.resolve();
  await turn();
  assert.equal(log, ['write a,b', 'durable 2,3', 'write c,d'], 'published in order, then the batch that gathered meanwhile goes');
  assert.equal(acked, [2, 3]);
  gates[1]!.resolve();
  await turn();
  assert.equal(log.slice(3), ['durable 4,5']);
  assert.equal(acked, [2, 3, 4, 5]);
  assert.ok(q.idle());
});

test('writers that reach append() a few awaits into the same turn still share the first batch', async () => {
  const log: string[] = [];
  const { backend, gates } = gatedBackend(log);
  const q = new CommitQueue(backend, { durable: () => {}, failed: () => {} });
  // As requests parsed from one socket read: each handler awaits a little before it appends.
  const writer = async (name: string, hops: number): Promise<void> => {
    for (let i = 0; i < hops; i++) await Promise.resolve();
    await q.append([op(name)], commit(1));
  };
  const all = Promise.all([writer('a', 0), writer('b', 3), writer('c', 8)]);
  await turn();
  assert.equal(log, ['write a,b,c'], 'one batch for the whole turn');
  gates[0]!.resolve();
  await all;
  assert.ok(q.idle());
});

test('barrier waits for what was appended before it, not for later writes', async () => {
  const log: string[] = [];
  const { backend, gates } = gatedBackend(log);
  const q = new CommitQueue(backend, { durable: () => {}, failed: () => {} });
  void q.append([op('a')], commit(2));
  let barred = false;
  void q.barrier().then(() => (barred = true));
  await turn();
  void q.append([op('b')], commit(3));
  gates[0]!.resolve();
  await turn();
  assert.ok(barred, 'resolved with the first batch');
  gates[1]!.resolve();
  await turn();
  assert.ok(q.idle());
  await q.barrier();
});

test('a failed write rejects its writers and those waiting behind it, and says so once', async () => {
  const log: string[] = [];
  const { backend, gates } = gatedBackend(log);
  const q = new CommitQueue(backend, { durable: (cs) => log.push(`durable ${cs.map((c) => c.revision)}`), failed: (e) => log.push(`failed ${(e as Error).message}`) });
  const first = q.append([op('a')], commit(2));
  await turn();
  const second = q.append([op('b')], commit(3));
  gates[0]!.reject(new Error('disk full'));
  assert.is(await failure(first), 'disk full');
  assert.is(await failure(second), 'disk full');
  assert.equal(log, ['write a', 'failed disk full'], 'nothing published, the waiting batch never written');
  // The queue takes writes again afterwards (the store decides whether it may).
  const third = q.append([op('c')], commit(4));
  await turn();
  gates[1]!.resolve();
  await third;
  assert.equal(log.slice(2), ['write c', 'durable 4']);
});

test.run();
