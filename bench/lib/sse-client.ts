/**
 * EventSource-style clients of `/v1/watch/{prefix}?prefix` for the fan-out benchmark: one HTTP
 * connection and one watcher each, like browsers. Shaped like watch-client.ts's WatchSocket
 * (`watchers`, `problems`, `eventsIn`) so fanout.ts's exactly-once verdict applies unchanged.
 *
 * Fast path: messages are scanned with indexOf, not JSON.parse: each `id: R` line is one
 * revision's message (the SSE contract: one message per revision); the writer puts one key per
 * revision, so one message is one event. The first `verifyMessages` change messages of every
 * client are also parsed with JSON.parse and compared with the scan.
 */
import http from 'node:http';
import type { LatencyHistogram } from './histogram.ts';
import { nowMs } from './keys.ts';
import type { WatcherStats } from './watch-client.ts';

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

export class SseWatchClient {
  readonly watchers: WatcherStats[];
  readonly problems: string[] = [];
  eventsIn = 0;
  private readonly w: WatcherStats;
  private buf = '';
  private req!: http.ClientRequest;
  private verifyLeft = 5;
  /** called once, at the first progress message: the watch is in place */
  private onStart: (() => void) | null = null;

  private constructor(id: number, private readonly latency: LatencyHistogram | undefined) {
    this.w = { id, events: 0, revSum: 0, lastRev: 0, lastEventAt: 0, orderViolations: 0, firstViolation: null, canceled: null };
    this.watchers = [this.w];
  }

  /** Opens the stream and resolves once the server's first progress message (the start point) arrived. */
  static open(url: string, id: number, latency?: LatencyHistogram): Promise<SseWatchClient> {
    const c = new SseWatchClient(id, latency);
    return new Promise((resolve, reject) => {
      let started = false;
      c.onStart = () => {
        started = true;
        resolve(c);
      };
      c.req = http.get(url, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`SSE watch answered ${res.statusCode}`));
          res.resume();
          return;
        }
        res.setEncoding('latin1');
        res.on('data', (chunk: string) => c.feed(chunk));
        res.on('end', () => c.problem('stream ended by the server'));
      });
      c.req.on('error', (e) => (started ? c.problem(`socket error: ${e.message}`) : reject(e)));
    });
  }

  private problem(p: string): void {
    if (this.problems.length < 20) this.problems.push(p);
  }

  private feed(chunk: string): void {
    const text = this.buf + chunk;
    let at = 0;
    for (;;) {
      const end = text.indexOf('\n\n', at);
      if (end < 0) break;
      if (text.startsWith('id: ', at) && text.startsWith('event: change', text.indexOf('\n', at) + 1)) this.onChange(text, at, end);
      else if (text.startsWith('event: compacted', at) || text.startsWith('event: error', at)) this.w.canceled = text.slice(at, end);
      else if (this.onStart && text.startsWith('event: progress', text.indexOf('\n', at) + 1)) {
        this.onStart();
        this.onStart = null;
      }
      at = end + 2;
    }
    this.buf = text.slice(at);
  }

  private onChange(text: string, at: number, end: number): void {
    let rev = 0;
    for (let i = at + 4, c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) rev = rev * 10 + (c - 48);
    const w = this.w;
    if (rev <= w.lastRev) {
      w.orderViolations++;
      w.firstViolation ??= `revision ${rev} after ${w.lastRev}`;
    }
    w.events++;
    w.revSum += rev;
    w.lastRev = rev;
    w.lastEventAt = nowMs();
    this.eventsIn++;
    if (this.latency) {
      const v = text.indexOf('"value":"', at);
      if (v > 0 && v < end) this.latency.record(w.lastEventAt - parseFloat(text.slice(v + 9, v + 40)));
    }
    if (this.verifyLeft > 0) {
      this.verifyLeft--;
      const data = JSON.parse(text.slice(text.indexOf('data: ', at) + 6, end)) as { revision: number; events: unknown[] };
      if (data.revision !== rev || data.events.length !== 1) this.problem(`scanner mismatch: id ${rev}, data ${text.slice(at, Math.min(end, at + 200))}`);
    }
  }

  close(): void {
    this.req.destroy();
  }
}

/** Opens `n` clients on `url`, `parallel` connection setups at a time; latency is sampled on the first `timed`. */
export async function openSseWatchers(url: string, n: number, latency: LatencyHistogram, timed = 50, parallel = 50): Promise<SseWatchClient[]> {
  const out: SseWatchClient[] = [];
  try {
    for (let i = 0; i < n; i += parallel) {
      const batch = Array.from({ length: Math.min(parallel, n - i) }, (_, j) => SseWatchClient.open(url, i + j, i + j < timed ? latency : undefined));
      out.push(...(await Promise.all(batch)));
    }
    return out;
  } catch (e) {
    for (const c of out) c.close();
    throw e;
  }
}
