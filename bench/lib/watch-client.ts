/**
 * A WebSocket client of `/v3/watch` that multiplexes many watchers on one socket and checks what
 * it receives, cheaply enough to keep up with a server fanning out hundreds of thousands of events
 * a second on a 2-core machine.
 *
 * Transport: RawWs (raw-ws.ts), a minimal WebSocket client, so the harness spends its CPU on
 * checking events rather than on a general-purpose WebSocket stack.
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
import { RawWs } from './raw-ws.ts';
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
  /** revision → send time decoded from its value; openWatchers shares one among its sockets */
  sendTimes?: Map<number, number>;
  /** an auth token, sent as the upgrade's Authorization header (servers with auth enabled) */
  token?: string;
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
  framesIn = 0;
  eventsIn = 0;
  /** protocol problems seen (error frames, unknown watch ids, scanner mismatches) */
  readonly problems: string[] = [];
  closed = false;
  private closing = false;

  private ws!: RawWs;
  private onClosed: (() => void) | null = null;

  private constructor(private readonly opts: WatchSocketOptions) {
    this.verifyLeft = opts.verifyFrames ?? 20;
  }

  static async open(baseUrl: string, opts: WatchSocketOptions): Promise<WatchSocket> {
    const url = baseUrl.replace(/^http/, 'ws') + '/v3/watch';
    const sock = new WatchSocket(opts);
    sock.ws = await RawWs.connect(url, {
      // latin1 is a plain byte copy; event frames are ASCII, and control frames are re-read as UTF-8.
      message: (data) => sock.onFrame(data.toString('latin1'), data),
      close: (code) => {
        if (!sock.closing) sock.problem(`socket closed by the server (code ${code})`);
        sock.closed = true;
        for (const w of sock.awaitingCreate.splice(0)) w.reject(new Error('watch socket closed'));
        sock.onClosed?.();
      },
      error: (e) => sock.problem(`socket error: ${e.message}`),
    }, opts.token ? { Authorization: opts.token } : {});
    return sock;
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

  private onFrame(s: string, raw: Buffer): void {
    this.framesIn++;
    const ev = s.indexOf('"events":[');
    if (ev < 0) {
      this.onControl(raw.toString('utf8'));
      return;
    }
    if (this.verifyLeft > 0) {
      this.verifyLeft--;
      this.onVerifiedFrame(s, ev);
      return;
    }
    const now = nowMs();
    const w = this.byId.get(scanWatchId(s));
    if (!w) {
      this.problem(`events for unknown watch id ${scanWatchId(s)}`);
      return;
    }
    // Fast path: two indexOf per event. Each event has exactly one `"kv":{` and its kv one
    // `"mod_revision":`; the verified frames above prove the layout for this server.
    const lat = this.opts.latency;
    let n = 0;
    for (let k = s.indexOf('"kv":{', ev); k >= 0; ) {
      const mr = s.indexOf('"mod_revision":', k);
      if (mr < 0) {
        this.problem(`event without mod_revision: ${s.slice(k, k + 200)}`);
        break;
      }
      const rev = readInt(s, mr + 15);
      const next = s.indexOf('"kv":{', mr);
      this.count(w, rev);
      if (lat) {
        const sent = this.sentAt(rev, s, k, next < 0 ? s.length : next);
        if (sent !== undefined) lat.record(now - sent);
      }
      n++;
      k = next;
    }
    w.lastEventAt = now;
    this.eventsIn += n;
  }

  private count(w: WatcherStats, rev: number): void {
    if (this.opts.strictOrder ? rev <= w.lastRev : rev < w.lastRev) {
      w.orderViolations++;
      w.firstViolation ??= `rev ${rev} after ${w.lastRev}`;
    }
    if (rev > w.lastRev) w.lastRev = rev;
    w.events++;
    w.revSum += rev;
  }

  /**
   * The writer's send time carried in the value of revision `rev`'s event. Every watcher gets
   * the same event, so it is decoded once per revision, not once per delivery.
   */
  private sentAt(rev: number, s: string, from: number, end: number): number | undefined {
    const sendTimes = (this.opts.sendTimes ??= new Map());
    let ts = sendTimes.get(rev);
    if (ts === undefined) {
      const v = s.indexOf('"value":"', from);
      if (v < 0 || v >= end) return undefined;
      ts = Number.parseFloat(Buffer.from(s.slice(v + 9, s.indexOf('"', v + 9)), 'base64').toString('latin1'));
      if (sendTimes.size > 1_000_000) sendTimes.clear();
      sendTimes.set(rev, ts);
    }
    return ts;
  }

  /** A frame read twice, by the scanner and by JSON.parse, which must agree. */
  private onVerifiedFrame(s: string, ev: number): void {
    const now = nowMs();
    let id = scanWatchId(s);
    let events: ScannedEvent[] = [];
    try {
      scanEvents(s, ev, events);
    } catch (e) {
      this.problem((e as Error).message);
    }
    const parsed = parsedEvents(s);
    const same = parsed.id === id && parsed.events.length === events.length && parsed.events.every((e, i) => e.rev === events[i]!.rev && e.value === events[i]!.value);
    if (!same) {
      this.problem(`frame scanner disagrees with JSON.parse on: ${s.slice(0, 300)}`);
      events = parsed.events;
      id = parsed.id;
    }
    const w = this.byId.get(id);
    if (!w) {
      this.problem(`events for unknown watch id ${id}`);
      return;
    }
    const lat = this.opts.latency;
    for (const e of events) {
      this.count(w, e.rev);
      if (lat && e.value !== null) lat.record(now - Number.parseFloat(Buffer.from(e.value, 'base64').toString('latin1')));
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
      this.onClosed = () => {
        clearTimeout(timer);
        resolve();
      };
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
  if (opts.latency) opts = { ...opts, sendTimes: new Map() };
  try {
    for (let s = 0; s < sockets; s++) out.push(await WatchSocket.open(url, opts));
    await Promise.all(out.map((sock, s) => sock.create(Array.from({ length: perSocket }, (_, i) => reqOf(s, i)))));
    return out;
  } catch (e) {
    await Promise.all(out.map((s) => s.close()));
    throw e;
  }
}
