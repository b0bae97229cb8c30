/**
 * The fan-out harness's watch client over gRPC (etcd's Watch.Watch bidi stream): the same checks
 * and figures as the WebSocket client (watch-client.ts) — per watcher: count, revision sum, order
 * — with responses read by a minimal protobuf field walker (watch-response-scan.ts), not a
 * decoder, off a stream framed by hand (grpc-raw-conn.ts): grpc-js's client stack spent about a
 * core at ~4.8M events/s, more than watchkv's server did sending them.
 */
import type { LatencyHistogram } from './histogram.ts';
import { nowMs } from './keys.ts';
import { encodeWatchCreate } from './grpc-client.ts';
import { GrpcRawConn, type BidiStream } from './grpc-raw-conn.ts';
import { newScan, scanWatchResponse } from './watch-response-scan.ts';
import type { WatcherStats, WatchSocketOptions } from './watch-client.ts';

/** One scan result for every stream: responses are handled one at a time. */
const scanned = newScan();

export class GrpcWatchStream {
  readonly watchers: WatcherStats[] = [];
  private readonly byId = new Map<number, WatcherStats>();
  private readonly awaitingCreate: Array<{ resolve: (w: WatcherStats) => void; reject: (e: Error) => void }> = [];
  eventsIn = 0;
  readonly problems: string[] = [];
  private closing = false;
  private readonly conn: GrpcRawConn;
  private readonly call: BidiStream;
  private readonly ended: Promise<void>;

  constructor(url: string, private readonly opts: WatchSocketOptions) {
    this.conn = new GrpcRawConn(url);
    let ended!: () => void;
    this.ended = new Promise((resolve) => (ended = resolve));
    this.call = this.conn.bidi('/etcdserverpb.Watch/Watch', {
      onMessage: (b) => this.onResponse(b),
      onEnd: (e) => {
        if (e && !this.closing) this.problem(`stream error: ${e.message}`);
        for (const w of this.awaitingCreate.splice(0)) w.reject(e ?? new Error('stream ended'));
        ended();
      },
    });
  }

  private problem(p: string): void {
    if (this.problems.length < 20) this.problems.push(p);
  }

  create(requests: Array<{ key: Buffer; rangeEnd: Buffer }>): Promise<WatcherStats[]> {
    return Promise.all(
      requests.map(
        (r) =>
          new Promise<WatcherStats>((resolve, reject) => {
            this.awaitingCreate.push({ resolve, reject });
            this.call.write(encodeWatchCreate(r.key, r.rangeEnd));
          }),
      ),
    );
  }

  private onResponse(b: Buffer): void {
    const r = scanned;
    scanWatchResponse(b, r);
    const { watchId: id, created, canceled, compactRevision: compact, revs } = r;
    if (created) {
      const waiter = this.awaitingCreate.shift();
      if (!waiter) return this.problem(`unexpected created for ${id}`);
      if (canceled) return waiter.reject(new Error('watch create refused'));
      const w: WatcherStats = { id, events: 0, revSum: 0, lastRev: 0, lastEventAt: 0, orderViolations: 0, firstViolation: null, canceled: null };
      this.byId.set(id, w);
      this.watchers.push(w);
      return waiter.resolve(w);
    }
    const w = this.byId.get(id);
    if (!w) return this.problem(`response for unknown watch id ${id}`);
    if (canceled) {
      w.canceled = compact ? `compacted at ${compact}` : 'canceled';
      return;
    }
    if (revs.length === 0) return; // progress
    const now = nowMs();
    for (let i = 0; i < revs.length; i++) {
      const rev = revs[i]!;
      if (this.opts.strictOrder ? rev <= w.lastRev : rev < w.lastRev) {
        w.orderViolations++;
        w.firstViolation ??= `rev ${rev} after ${w.lastRev}`;
      }
      if (rev > w.lastRev) w.lastRev = rev;
      w.events++;
      w.revSum += rev;
      if (this.opts.latency && r.valueStart[i]! >= 0) this.record(this.opts.latency, rev, b, r.valueStart[i]!, r.valueEnd[i]!, now);
    }
    w.lastEventAt = now;
    this.eventsIn += revs.length;
  }

  /** Send time carried in the value, decoded once per revision (shared by all streams). */
  private record(lat: LatencyHistogram, rev: number, b: Buffer, s: number, e: number, now: number): void {
    const times = (this.opts.sendTimes ??= new Map());
    let ts = times.get(rev);
    if (ts === undefined) {
      ts = Number.parseFloat(b.toString('latin1', s, e));
      if (times.size > 1_000_000) times.clear();
      times.set(rev, ts);
    }
    lat.record(now - ts);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.call.cancel();
    await Promise.race([this.ended, new Promise((r) => setTimeout(r, 2000))]);
    this.conn.close();
  }
}

/** `streams` streams (one connection each) with `perStream` watchers on the same prefix. */
export async function openGrpcWatchers(url: string, streams: number, perStream: number, create: { key: Buffer; rangeEnd: Buffer }, opts: WatchSocketOptions): Promise<GrpcWatchStream[]> {
  if (opts.latency) opts = { ...opts, sendTimes: new Map() };
  const out: GrpcWatchStream[] = [];
  try {
    for (let s = 0; s < streams; s++) out.push(new GrpcWatchStream(url, opts));
    await Promise.all(out.map((st) => st.create(Array.from({ length: perStream }, () => create))));
    return out;
  } catch (e) {
    await Promise.all(out.map((s) => s.close()));
    throw e;
  }
}
