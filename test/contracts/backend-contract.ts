import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, BatchOp } from '../../src/backend/backend.ts';
import { isKvError } from '../../src/errors.ts';
import { Rng, testSeed } from '../support/rng.ts';

/**
 * The one test suite every Backend implementation passes (test/backend/*.test.ts run it).
 * Each test gets a fresh, unopened backend from `makeBackend` and calls `cleanup` at the end.
 */
export interface BackendFixture {
  backend: Backend;
  cleanup: () => Promise<void>;
  /**
   * A backend over the same data, unopened, for the reopen tests. A persistent backend returns
   * a new instance on the same directory; the memory backend returns itself.
   */
  reopen: () => Backend;
}

/** A backend whose writes can be made to fail (MemoryBackend.failWrites). */
interface FaultInjectable {
  failWrites(err: Error | null): void;
}

const b = (s: string) => Buffer.from(s);
const hex = (entries: Array<[Buffer, Buffer]>) => entries.map(([k, v]) => `${k.toString('hex')}=${v.toString('hex')}`);
const keys = (entries: Array<[Buffer, Buffer]>) => entries.map(([k]) => k.toString());

function canFail(backend: Backend): backend is Backend & FaultInjectable {
  return typeof (backend as Partial<FaultInjectable>).failWrites === 'function';
}

async function rejectsWith(p: Promise<unknown>, check: (err: unknown) => boolean, label: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.ok(check(err), `${label}: unexpected error ${String(err)}`);
    return;
  }
  assert.unreachable(`${label}: expected a rejection`);
}

export function backendContract(name: string, makeBackend: () => Promise<BackendFixture>): void {
  const test = suite(`backend contract: ${name}`);

  /** Runs `body` on an opened backend, then closes it and cleans up whatever happens. */
  const withBackend = (title: string, body: (backend: Backend, fx: BackendFixture) => Promise<void>) =>
    test(title, async () => {
      const fx = await makeBackend();
      try {
        await fx.backend.open();
        await body(fx.backend, fx);
      } finally {
        await fx.backend.close();
        await fx.cleanup();
      }
    });

  withBackend('an empty store reads nothing', async (db) => {
    assert.is(await db.get(b('a')), undefined);
    assert.equal(await db.getMany([b('a'), b('b')]), [undefined, undefined]);
    assert.equal(await db.getMany([]), []);
    assert.equal(await db.scan({ limit: 10 }), []);
    assert.equal(await db.scan({ limit: 10, reverse: true }), []);
    assert.type(await db.approximateSize(), 'number');
  });

  withBackend('snapshot: every entry as of the call, in key order, whatever is written after', async (db) => {
    await db.write(Array.from({ length: 25 }, (_, i) => ({ type: 'put' as const, key: b(`k${String(i).padStart(2, '0')}`), value: b(`v${i}`) })));
    const before = await db.scan({ limit: 100 });
    const snap = db.snapshot();
    // Changes after the call: a put, an overwrite and a delete the view must not see.
    await db.write([
      { type: 'put', key: b('k99'), value: b('new') },
      { type: 'put', key: b('k00'), value: b('changed') },
      { type: 'del', key: b('k10') },
    ]);
    const seen: Array<[Buffer, Buffer]> = [];
    for (let chunk = await snap.next(7); chunk.length > 0; chunk = await snap.next(7)) {
      assert.ok(chunk.length <= 7);
      seen.push(...chunk);
    }
    assert.equal(hex(seen), hex(before));
    assert.equal(await snap.next(7), [], 'stays at the end');
    await snap.close();
    await snap.close();
    const empty = db.snapshot();
    await empty.close();
  });

  withBackend('a batch applies puts and deletes in order, as one unit', async (db) => {
    await db.write([
      { type: 'put', key: b('a'), value: b('1') },
      { type: 'put', key: b('b'), value: b('2') },
      { type: 'put', key: b('c'), value: b('3') },
    ]);
    await db.write([
      { type: 'del', key: b('b') },
      { type: 'put', key: b('a'), value: b('1bis') },
      { type: 'del', key: b('missing') },
      { type: 'put', key: b('d'), value: b('4') },
      // Later ops on the same key win, as in LevelDB.
      { type: 'put', key: b('e'), value: b('first') },
      { type: 'del', key: b('e') },
      { type: 'del', key: b('f') },
      { type: 'put', key: b('f'), value: b('last') },
    ]);
    const all = await db.scan({ limit: 100 });
    assert.equal(keys(all), ['a', 'c', 'd', 'f']);
    assert.equal(all.map(([, v]) => v.toString()), ['1bis', '3', '4', 'last']);
    await db.write([]);
    assert.equal(keys(await db.scan({ limit: 100 })), ['a', 'c', 'd', 'f']);
  });

  withBackend('get and getMany return values in order, undefined where missing', async (db) => {
    await db.write([
      { type: 'put', key: b('x'), value: b('vx') },
      { type: 'put', key: b('z'), value: b('vz') },
    ]);
    assert.ok(Buffer.isBuffer(await db.get(b('x'))));
    assert.is((await db.get(b('x')))!.toString(), 'vx');
    assert.is(await db.get(b('y')), undefined);
    const many = await db.getMany([b('z'), b('y'), b('x'), b('z')]);
    assert.equal(many.map((v) => v?.toString()), ['vz', undefined, 'vx', 'vz']);
  });

  withBackend('empty values are stored and read back as empty, not as missing', async (db) => {
    await db.write([{ type: 'put', key: b('empty'), value: Buffer.alloc(0) }]);
    const v = await db.get(b('empty'));
    assert.ok(Buffer.isBuffer(v), 'an empty value is a Buffer');
    assert.is(v!.length, 0);
    assert.is((await db.getMany([b('empty')]))[0]!.length, 0);
    assert.equal(hex(await db.scan({ limit: 10 })), [`${b('empty').toString('hex')}=`]);
  });

  withBackend('stored data does not alias the caller’s Buffers', async (db) => {
    const key = b('k');
    const value = b('original');
    const pending = db.write([{ type: 'put', key, value }]);
    value.write('MUTATED!');
    key.write('z');
    await pending;
    assert.is((await db.get(b('k')))!.toString(), 'original');
    const read = (await db.get(b('k')))!;
    read.write('xxxxxxxx');
    assert.is((await db.get(b('k')))!.toString(), 'original');
  });

  withBackend('scan honours gte, lt, limit and reverse', async (db) => {
    const ops: BatchOp[] = [];
    for (let i = 0; i < 30; i++) ops.push({ type: 'put', key: b(`k${String(i).padStart(2, '0')}`), value: b(String(i)) });
    await db.write(ops);
    assert.equal(keys(await db.scan({ gte: b('k05'), lt: b('k09'), limit: 100 })), ['k05', 'k06', 'k07', 'k08']);
    assert.equal(keys(await db.scan({ gte: b('k05'), lt: b('k09'), limit: 2 })), ['k05', 'k06']);
    assert.equal(keys(await db.scan({ gte: b('k05'), lt: b('k09'), limit: 2, reverse: true })), ['k08', 'k07']);
    assert.equal(keys(await db.scan({ lt: b('k02'), limit: 100 })), ['k00', 'k01']);
    assert.equal(keys(await db.scan({ gte: b('k28'), limit: 100 })), ['k28', 'k29']);
    assert.equal(keys(await db.scan({ gte: b('k28'), limit: 100, reverse: true })), ['k29', 'k28']);
    assert.equal(keys(await db.scan({ lt: b('k02'), limit: 1, reverse: true })), ['k01']);
    // Bounds between keys, and empty ranges.
    assert.equal(keys(await db.scan({ gte: b('k045'), lt: b('k065'), limit: 100 })), ['k05', 'k06']);
    assert.equal(await db.scan({ gte: b('k10'), lt: b('k10'), limit: 100 }), []);
    assert.equal(await db.scan({ gte: b('k20'), lt: b('k10'), limit: 100 }), []);
    assert.equal(await db.scan({ gte: b('l'), limit: 100 }), []);
    assert.equal(await db.scan({ limit: 0 }), []);
  });

  withBackend('paging with gte = last key + "\\0" visits every key once, both ways', async (db) => {
    const ops: BatchOp[] = [];
    for (let i = 0; i < 2500; i++) ops.push({ type: 'put', key: b(`p${i}`), value: b(String(i)) });
    await db.write(ops);
    const expected = ops.map((op) => op.key).sort(Buffer.compare).map(String);
    const forward: string[] = [];
    let gte: Buffer | undefined;
    for (;;) {
      const page = await db.scan({ ...(gte ? { gte } : {}), limit: 333 });
      forward.push(...keys(page));
      if (page.length < 333) break;
      gte = Buffer.concat([page[page.length - 1]![0], Buffer.from([0])]);
    }
    assert.equal(forward, expected);
    const backward: string[] = [];
    let lt: Buffer | undefined;
    for (;;) {
      const page = await db.scan({ ...(lt ? { lt } : {}), limit: 1000, reverse: true });
      backward.push(...keys(page));
      if (page.length < 1000) break;
      lt = page[page.length - 1]![0];
    }
    assert.equal(backward, [...expected].reverse());
    // One call with a limit above the backend's internal chunk size returns everything.
    assert.is((await db.scan({ limit: 10_000 })).length, 2500);
  });

  withBackend('binary keys with 0x00 and 0xff bytes order bytewise', async (db) => {
    const raw = [[0x00], [0x00, 0x00], [0x00, 0x01], [0x01], [0x7f], [0x80], [0xfe, 0xff], [0xff], [0xff, 0x00], [0xff, 0xff], [0xff, 0xff, 0xff]];
    const shuffled = [...raw.filter((_, i) => i % 2), ...raw.filter((_, i) => i % 2 === 0).reverse()];
    await db.write(shuffled.map((k) => ({ type: 'put' as const, key: Buffer.from(k), value: Buffer.from([k.length]) })));
    const expected = raw.map((k) => Buffer.from(k).toString('hex'));
    assert.equal((await db.scan({ limit: 100 })).map(([k]) => k.toString('hex')), expected);
    assert.equal((await db.scan({ limit: 100, reverse: true })).map(([k]) => k.toString('hex')), [...expected].reverse());
    const sub = await db.scan({ gte: Buffer.from([0x00, 0x00]), lt: Buffer.from([0xff, 0x00]), limit: 100 });
    assert.equal(sub.map(([k]) => k.toString('hex')), ['0000', '0001', '01', '7f', '80', 'feff', 'ff']);
    assert.equal((await db.get(Buffer.from([0xff, 0xff])))!, Buffer.from([2]));
  });

  withBackend('concurrent writes all land', async (db) => {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => db.write([{ type: 'put', key: b(`c${String(i).padStart(2, '0')}`), value: b(String(i)) }])),
    );
    assert.is((await db.scan({ limit: 100 })).length, 50);
  });

  withBackend('random batches agree with a sorted-map model', async (db) => {
    const seed = testSeed();
    const r = new Rng(seed);
    const rand = () => r.next();
    const model = new Map<string, Buffer>();
    const alphabet = [0x00, 0x01, 0x61, 0xfe, 0xff];
    const randomKey = () => Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => alphabet[Math.floor(rand() * alphabet.length)]!));
    for (let round = 0; round < 40; round++) {
      const ops: BatchOp[] = [];
      for (let i = 0, n = Math.floor(rand() * 10); i < n; i++) {
        const key = randomKey();
        if (rand() < 0.3) {
          ops.push({ type: 'del', key });
          model.delete(key.toString('hex'));
        } else {
          const value = Buffer.from(String(rand()));
          ops.push({ type: 'put', key, value });
          model.set(key.toString('hex'), value);
        }
      }
      await db.write(ops);
      const gte = randomKey();
      const lt = randomKey();
      const limit = 1 + Math.floor(rand() * 8);
      const reverse = rand() < 0.5;
      let want = [...model.entries()]
        .map(([k, v]): [Buffer, Buffer] => [Buffer.from(k, 'hex'), v])
        .sort((x, y) => Buffer.compare(x[0], y[0]))
        .filter(([k]) => Buffer.compare(k, gte) >= 0 && Buffer.compare(k, lt) < 0);
      if (reverse) want.reverse();
      want = want.slice(0, limit);
      assert.equal(hex(await db.scan({ gte, lt, limit, reverse })), hex(want), `seed ${seed} round ${round}`);
    }
  });

  test('close is idempotent, a closed backend refuses work, and open twice fails', async () => {
    const fx = await makeBackend();
    try {
      await fx.backend.open();
      await rejectsWith(fx.backend.open(), (err) => err instanceof Error, 'second open');
      await fx.backend.close();
      await fx.backend.close();
      await rejectsWith(fx.backend.get(b('a')), (err) => err instanceof Error, 'get after close');
      await rejectsWith(fx.backend.write([{ type: 'put', key: b('a'), value: b('1') }]), (err) => err instanceof Error, 'write after close');
    } finally {
      await fx.backend.close();
      await fx.cleanup();
    }
  });

  test('close waits for in-flight writes, and data survives reopening', async () => {
    const fx = await makeBackend();
    let second: Backend | undefined;
    try {
      await fx.backend.open();
      const writes = Array.from({ length: 20 }, (_, i) => fx.backend.write([{ type: 'put', key: b(`w${i}`), value: b(String(i)) }]));
      await fx.backend.close();
      const settled = await Promise.allSettled(writes);
      assert.ok(settled.every((s) => s.status === 'fulfilled'), 'writes issued before close succeed');
      second = fx.reopen();
      await second.open();
      assert.is((await second.scan({ limit: 100 })).length, 20);
      await second.write([{ type: 'del', key: b('w0') }, { type: 'put', key: b('w1'), value: b('again') }]);
      await second.close();
      second = fx.reopen();
      await second.open();
      assert.is(await second.get(b('w0')), undefined);
      assert.is((await second.get(b('w1')))!.toString(), 'again');
      assert.is((await second.scan({ limit: 100 })).length, 19);
    } finally {
      await second?.close();
      await fx.backend.close();
      await fx.cleanup();
    }
  });

  withBackend('a refused write rejects and applies nothing (fault injection)', async (db) => {
    if (!canFail(db)) return; // only backends with a fault hook; level-backend.test.ts covers mapping
    await db.write([{ type: 'put', key: b('a'), value: b('before') }]);
    const boom = new Error('ENOSPC: no space left on device');
    db.failWrites(boom);
    await rejectsWith(
      db.write([{ type: 'put', key: b('a'), value: b('after') }, { type: 'put', key: b('b'), value: b('new') }]),
      (err) => err === boom || isKvError(err, 'ERR_NO_SPACE'),
      'write while failing',
    );
    assert.is((await db.get(b('a')))!.toString(), 'before');
    assert.is(await db.get(b('b')), undefined);
    db.failWrites(null);
    await db.write([{ type: 'put', key: b('b'), value: b('healed') }]);
    assert.is((await db.get(b('b')))!.toString(), 'healed');
  });

  test.run();
}
