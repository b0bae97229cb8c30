/**
 * The KV contract (test/contracts/kv-contract.ts) against the store as server.ts assembles it: a
 * store with the watch engine (WatchableStore) listening to its commits. The engine shares the
 * store's Event objects with every other listener, so the store must still keep the contract with
 * it attached (the contract's own listener comes after the engine's and must see the events
 * untouched). At the end of each test, a watcher on every key (with prev_kv) must have received
 * exactly the events the store announced, revision by revision.
 */
import * as assert from 'uvu/assert';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import type { Event } from '../../src/mvcc/kv.ts';
import { openKvStore } from '../../src/mvcc/kv-store.ts';
import type { WatchResponse, WatchSink } from '../../src/watch/watch-api.ts';
import { WatchableStore } from '../../src/watch/watchable-store.ts';
import { kvContract } from '../contracts/kv-contract.ts';
import { plain, ZERO } from '../support/kv-plain.ts';

/** Records every response of one stream; never full. */
class Recorder implements WatchSink {
  readonly responses: WatchResponse[] = [];
  send(response: WatchResponse): boolean {
    this.responses.push(response);
    return true;
  }
}

const byRevision = (list: Array<[number, readonly Event[]]>) => list.filter(([, evs]) => evs.length > 0).map(([rev, evs]) => [rev, plain(evs)]);

kvContract(
  'store with the watch engine attached',
  async () => {
    const kv = await openKvStore(new MemoryBackend());
    const engine = new WatchableStore(kv);
    const announced: Array<[number, readonly Event[]]> = [];
    const off = kv.onCommit((rev, events) => announced.push([rev, events]));
    const sink = new Recorder();
    const stream = engine.newStream(sink);
    stream.create({ key: ZERO, rangeEnd: ZERO, startRevision: 0, progressNotify: false, prevKv: true, noPut: false, noDelete: false, watchId: 0, fragment: false });
    return {
      kv,
      startRevision: 1,
      cleanup: async () => {
        try {
          const [created, ...rest] = sink.responses;
          assert.equal([created?.created, created?.revision], [true, 1]);
          // A synced watcher is handed each commit as it is announced: one response per revision.
          const delivered = rest.map((r): [number, readonly Event[]] => [r.revision, r.events]);
          assert.equal(byRevision(delivered), byRevision(announced));
          assert.is(engine.currentRevision(), kv.currentRevision());
        } finally {
          off();
          await engine.close();
          await kv.close();
        }
      },
    };
  },
  { commits: true },
);
