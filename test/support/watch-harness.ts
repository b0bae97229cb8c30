/** In-process watch streams for engine tests: a sink that records responses and can stall. */
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { openKvStore, type KvStore } from '../../src/mvcc/kv-store.ts';
import type { WatchCreateRequest, WatchResponse, WatchSink, WatchStream } from '../../src/watch/watch-api.ts';
import { WatchableStore, type WatchOptions } from '../../src/watch/watchable-store.ts';
import type { ObservedWatcher } from './watch-validator.ts';

export interface EngineFixture {
  engine: WatchableStore;
  /** The store under it: tests write here, as clients do. */
  kv: KvStore;
  /** Closes the engine, then the store. */
  close(): Promise<void>;
}

export async function openEngine(options: Partial<WatchOptions> = {}): Promise<EngineFixture> {
  const kv = await openKvStore(new MemoryBackend());
  const engine = new WatchableStore(kv, { victimRetryIntervalMs: 2, syncIntervalMs: 10, ...options });
  return {
    engine,
    kv,
    close: async () => {
      await engine.close();
      await kv.close();
    },
  };
}

/** A recording client: one stream, its watchers' responses, a switch to stop reading. */
export class TestClient implements WatchSink {
  readonly stream: WatchStream;
  readonly all: WatchResponse[] = [];
  readonly watchers = new Map<number, ObservedWatcher>();
  private readonly creates: WatchCreateRequest[] = [];
  /** While true the client "does not read": the sink refuses everything. */
  stalled = false;
  /** Refuse once this many responses are buffered (0 = unbounded). */
  capacity = 0;
  buffered = 0;

  constructor(engine: WatchableStore) {
    this.stream = engine.newStream(this);
  }

  send(resp: WatchResponse): boolean {
    if (resp.lagging) {
      // Advisory notices are written even by a full transport (watch-api.ts).
      this.all.push(resp);
      this.watchers.get(resp.watchId)?.responses.push(resp);
      return true;
    }
    if (this.stalled || (this.capacity > 0 && this.buffered >= this.capacity)) return false;
    this.buffered++;
    this.all.push(resp);
    if (resp.created) {
      const request = this.creates.shift()!;
      if (!resp.canceled) this.watchers.set(resp.watchId, { request, responses: [resp] });
      return true;
    }
    if (resp.watchId === -1) {
      for (const w of this.watchers.values()) if (!w.responses.some((r) => r.canceled)) w.responses.push(resp);
      return true;
    }
    this.watchers.get(resp.watchId)?.responses.push(resp);
    return true;
  }

  /** The client read everything buffered. */
  drain(): void {
    this.buffered = 0;
    this.stream.resume();
  }

  watch(req: Partial<WatchCreateRequest> & { key: Buffer }): void {
    const full: WatchCreateRequest = {
      startRevision: 0,
      progressNotify: false,
      prevKv: false,
      noPut: false,
      noDelete: false,
      watchId: 0,
      fragment: false,
      ...req,
    };
    this.creates.push(full);
    this.stream.create(full);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond` holds (polling), failing after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
