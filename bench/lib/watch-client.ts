/**
 * A WebSocket client of `/v3/watch` that multiplexes many watchers on one socket and checks what
 * it receives, cheaply enough to keep up with a server fanning out hundreds of thousands of events
 * a second on a 2-core machine.
 *
 * Fast path: event frames are scanned with indexOf instead of JSON.parse (watch_id, each event's
 * mod_revision and value). The first `verifyFrames` event frames of every socket are also parsed
 * with JSON.parse and compared with the scan, so a format the scanner misreads fails loudly.
 * Control frames (created, canceled, progress, errors) are always parsed with JSON.parse.
 *
 * Per watcher it counts events, sums their revisions and flags any revision that does not follow
 * the previous one (strictly greater in `strict` mode, where every event has its own revision; not
 * smaller otherwise, where a txn's events share one). Comparing count and sum with what the writer
 * wrote then proves exactly-once, in-order delivery.
 */
import WebSocket from 'ws';
import type { LatencyHistogram } from './histogram.ts';
import { nowMs } from './keys.ts';

export interface WatcherStats {
  id: number;
  events: number;
  revSum: number;
  lastRev: number;
  lastEventAt: number;
  orderViolations: number;
  firstViolation: string | null;
  canceled: string | null;
}

export interface WatchSocketOptions {
  strictOrder: boolean;
  /** records now - (send time carried in the value) for every event, when given */
  latency?: LatencyHistogram;
  /** how many event frames per socket to cross-check with JSON.parse */
  verifyFrames?: number;
}

interface ScannedEvent {
  rev: number;
  value: string | null;
}

function readInt(s: string, at: number): number {
  let i = at;
  if (s.charCodeAt(i) === 34) i++; // int64 as a JSON string
  let neg = false;
  if (s.charCodeAt(i) === 45) {
    neg = true;
    i++;
  }
  let n = 0;
  for (let c = s.charCodeAt(i); c >= 48 && c <= 57; c = s.charCodeAt(++i)) n = n * 10 + (c - 48);
  return neg ? -n : n;
}

function scanWatchId(s: string): number {
  const at = s.indexOf('"watch_id":');
  return at < 0 ? 0 : readInt(s, at + 11);
}

/** Each event holds exactly one `"kv":{` (prev_kv's key is `"prev_kv"`), so kv openings split events. */
function scanEvents(s: string, from: number, out: ScannedEvent[]): void {
  let k = s.indexOf('"kv":{', from);
  while (k >= 0) {
    const next = s.indexOf('"kv":{', k + 6);
    const end = next < 0 ? s.length : next;
    const mr = s.indexOf('"mod_revision":', k);
    if (mr < 0 || mr >= end) throw new Error(`event without mod_revision: ${s.slice(k, k + 200)}`);
    const v = s.indexOf('"value":"', k);
    let value: string | null = null;
    if (v >= 0 && v < end) value = s.slice(v + 9, s.indexOf('"', v + 9));
    out.push({ rev: readInt(s, mr + 15), value });
    k = next;
  }
}

function parsedEvents(s: string): { id: number; events: ScannedEvent[] } {
  const r = (JSON.parse(s) as { result: { watch_id?: string; events?: Array<{ kv: { mod_revision?: string; value?: string } }> } }).result;
  return {
    id: Number(r.watch_id ?? 0),
    events: (r.events ?? []).map((e) => ({ rev: Number(e.kv.mod_revision ?? 0), value: e.kv.value ?? null })),
  };
}

export class WatchSocket {
  readonly watchers: WatcherStats[] = [];
  private readonly byId = new Map<number, WatcherStats>();
  /** resolvers of create requests in flight, in send order: the server answers creates in order */
  private readonly awaitingCreate: Array<{ resolve: (w: WatcherStats) => void; reject: (e: Error) => void }> = [];
  private verifyLeft: number;
  private lastB64 = '';
  private lastTs = 0;
  framesIn = 0;
  eventsIn = 0;
  /** protocol problems seen (error frames, unknown watch ids, scanner mismatches) */
  readonly problems: string[] = [];
  closed = false;
  private closing = false;

  private constructor(private readonly ws: WebSocket, private readonly opts: WatchSocketOptions) {
    this.verifyLeft = opts.verifyFrames ?? 20;
    ws.on('message', (data: Buffer) => this.onFrame(data.toString('utf8')));
    ws.on('close', (code: number) => {
      if (!this.closing) this.problem(`socket closed by the server (code ${code})`);
      this.closed = true;
      for (const w of this.awaitingCreate.splice(0)) w.reject(new Error('watch socket closed'));
    });
    ws.on('error', (e) => this.problem(`socket error: ${e.message}`));
  }

  static open(baseUrl: string, opts: WatchSocketOptions): Promise<WatchSocket> {
    const url = baseUrl.replace(/^http/, 'ws') + '/v3/watch';
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 0x7fffffff, skipUTF8Validation: true });
      ws.once('open', () => resolve(new WatchSocket(ws, opts)));
      ws.once('error', reject);
    });
  }

  private problem(p: string): void {
    if (this.problems.length < 20) this.problems.push(p);
  }

  /**
   * Sends the create requests with at most `window` unanswered at a time and resolves with the
   * watchers created. A create the server refuses (created+canceled) rejects.
   */
  async create(requests: object[], window = 100): Promise<WatcherStats[]> {
    const made: WatcherStats[] = [];
    let sent = 0;
    await new Promise<void>((resolve, reject) => {
      let done = 0;
      let failed = false;
      const pump = (): void => {
        while (!failed && sent < requests.length && sent - done < window) {
          const req = requests[sent++]!;
          this.awaitingCreate.push({
            resolve: (w) => {
              made.push(w);
              done++;
              if (done === requests.length) resolve();
              else pump();
            },
            reject: (e) => {
              failed = true;
              reject(e);
            },
          });
          this.ws.send(JSON.stringify({ create_request: req }));
        }
      };
      if (requests.length === 0) resolve();
      else pump();
    });
    return made;
  }

  private onFrame(s: string): void {
    this.framesIn++;
    const ev = s.indexOf('"events":[');
    if (ev < 0) {
      this.onControl(s);
      return;
    }
    const now = nowMs();
    let id = scanWatchId(s);
    let events: ScannedEvent[] = [];
    try {
      scanEvents(s, ev, events);
    } catch (e) {
      this.problem((e as Error).message);
      this.verifyLeft = 1; // fall back to JSON.parse for this frame
    }
    if (this.verifyLeft > 0) {
      this.verifyLeft--;
      const parsed = parsedEvents(s);
      const same = parsed.id === id && parsed.events.length === events.length && parsed.events.every((e, i) => e.rev === events[i]!.rev && e.value === events[i]!.value);
      if (!same) {
        this.problem(`frame scanner disagrees with JSON.parse on: ${s.slice(0, 300)}`);
        events = parsed.events;
        id = parsed.id;
      }
    }
    const w = this.byId.get(id);
    if (!w) {
      this.problem(`events for unknown watch id ${id}`);
      return;
    }
    const lat = this.opts.latency;
    for (const e of events) {
      if (this.opts.strictOrder ? e.rev <= w.lastRev : e.rev < w.lastRev) {
        w.orderViolations++;
        w.firstViolation ??= `rev ${e.rev} after ${w.lastRev}`;
      }
      if (e.rev > w.lastRev) w.lastRev = e.rev;
      w.events++;
      w.revSum += e.rev;
      if (lat && e.value !== null) {
        if (e.value !== this.lastB64) {
          this.lastB64 = e.value;
          this.lastTs = Number.parseFloat(Buffer.from(e.value, 'base64').toString('latin1'));
        }
        lat.record(now - this.lastTs);
      }
    }
    w.lastEventAt = now;
    this.eventsIn += events.length;
  }

  private onControl(s: string): void {
    let msg: { result?: { watch_id?: string; created?: boolean; canceled?: boolean; cancel_reason?: string; compact_revision?: string }; error?: unknown };
    try {
      msg = JSON.parse(s);
    } catch {
      this.problem(`unparsable frame: ${s.slice(0, 200)}`);
      return;
    }
    const r = msg.result;
    if (!r) {
      this.problem(`error frame: ${s.slice(0, 300)}`);
      return;
    }
    const id = Number(r.watch_id ?? 0);
    if (r.created) {
      const waiter = this.awaitingCreate.shift();
      if (!waiter) {
        this.problem(`unexpected created for ${id}`);
        return;
      }
      if (r.canceled) {
        waiter.reject(new Error(`watch create refused: ${r.cancel_reason ?? s.slice(0, 200)}`));
        return;
      }
      const w: WatcherStats = { id, events: 0, revSum: 0, lastRev: 0, lastEventAt: 0, orderViolations: 0, firstViolation: null, canceled: null };
      this.byId.set(id, w);
      this.watchers.push(w);
      waiter.resolve(w);
      return;
    }
    if (r.canceled) {
      const w = this.byId.get(id);
      if (w) w.canceled = r.cancel_reason || (r.compact_revision ? `compacted at ${r.compact_revision}` : 'canceled');
      else this.problem(`cancel for unknown watch ${id}`);
    }
    // anything else is a progress notification: nothing to count
  }

  close(): Promise<void> {
    this.closing = true;
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 2000);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.close(1000);
    });
  }
}

/** Opens `sockets` sockets and creates `perSocket` watchers on each; `reqOf(socket, i)` builds a create request. */
export async function openWatchers(
  url: string,
  sockets: number,
  perSocket: number,
  reqOf: (socket: number, i: number) => object,
  opts: WatchSocketOptions,
): Promise<WatchSocket[]> {
  const out: WatchSocket[] = [];
  try {
    for (let s = 0; s < sockets; s++) out.push(await WatchSocket.open(url, opts));
    await Promise.all(out.map((sock, s) => sock.create(Array.from({ length: perSocket }, (_, i) => reqOf(s, i)))));
    return out;
  } catch (e) {
    await Promise.all(out.map((s) => s.close()));
    throw e;
  }
}
