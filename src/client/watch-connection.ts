/**
 * The one WebSocket (GET /v3/watch) that all of a client's watches share.
 *
 * Invariants:
 * - Each registered watch has a watch id of its own on the socket, chosen by the client (1, 2, …)
 *   so every answer, including a `created` one, names its watch.
 * - While the socket is open, every registered watch has had its create_request sent on it.
 * - After the socket drops (close, error, server restart, heartbeat silence), a new one is opened
 *   after an exponential backoff with jitter, moving to the next endpoint, and each watch is
 *   created again at its resume point (Watch.nextRevision). Backoff is reset once the server
 *   confirms a watch, so a server that accepts and drops at once is not hammered.
 * - With no watch left, the socket is closed (a Node process can then exit).
 * - With auth, the socket carries the token it was opened with. A socket refused before it
 *   opened, or a create canceled because that token went stale (credentials.ts), renews the token
 *   and reconnects; the watch is created again there, not failed.
 */
import { Backoff, type BackoffOptions } from './backoff.ts';
import { Credentials, isStaleToken } from './credentials.ts';
import { CompactedError, errorFromServer, WatchCanceledError } from './errors.ts';
import { decodeEvent, type RawEvent, type RawHeader } from './types.ts';
import type { Watch, WatchHost } from './watch.ts';
import { frameText, WS_OPEN, wsUrl, type WebSocketConstructor, type WebSocketLike } from './websocket.ts';

export interface WatchConnectionOptions {
  endpoints: () => string[];
  WebSocket: WebSocketConstructor;
  backoff?: BackoffOptions;
  /** ms: a socket that does not open in this time is dropped and retried (default 10,000). */
  connectTimeoutMs?: number;
  /**
   * ms: while watches are open, a progress request is sent this often; a socket that stays silent
   * for two periods is taken as dead (a half-open TCP connection) and replaced (default 30,000).
   */
  heartbeatMs?: number;
  /** The auth token each socket opens with (none: the server's auth is off). */
  credentials?: Credentials;
}

interface RawWatchResponse {
  header?: RawHeader;
  watch_id?: string;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: RawEvent[];
}

export class WatchConnection implements WatchHost {
  private ws: WebSocketLike | undefined;
  private open = false;
  private nextId = 1;
  private readonly watches = new Map<number, Watch>();
  private readonly backoff: Backoff;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private heardSinceBeat = true;
  private endpointIndex = 0;
  private closed = false;
  private connecting = false;
  /** The token the current socket was opened with. */
  private token: string | undefined;
  /** How many sockets this connection has opened (tests and stats). */
  connects = 0;

  constructor(private readonly o: WatchConnectionOptions) {
    this.backoff = new Backoff(o.backoff);
  }

  add(w: Watch): void {
    if (this.closed) throw new WatchCanceledError('client closed');
    w.id = this.nextId++;
    this.watches.set(w.id, w);
    if (this.open) this.sendCreate(w);
    else if (!this.ws && !this.reconnectTimer && !this.connecting) void this.connect();
  }

  cancel(w: Watch): void {
    if (!this.watches.delete(w.id)) return;
    if (this.open) this.send({ cancel_request: { watch_id: w.id } });
    if (this.watches.size === 0) this.idle();
  }

  requestProgress(): void {
    if (this.open) this.send({ progress_request: {} });
  }

  /** Drops the current socket as if the network failed (tests; also used by the heartbeat). */
  drop(reason = 'dropped by the client'): void {
    const ws = this.ws;
    if (!ws) return;
    this.detach(reason);
    try {
      ws.close(4000, reason);
    } catch {
      /* already closing */
    }
  }

  close(): void {
    this.closed = true;
    for (const w of [...this.watches.values()]) w.close();
    this.idle();
  }

  get connected(): boolean {
    return this.open;
  }

  private idle(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const ws = this.ws;
    this.detach('no watches left');
    ws?.close(1000, 'done');
  }

  private async connect(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.closed || this.watches.size === 0) return;
    let token: string | undefined;
    this.connecting = true;
    try {
      token = await this.o.credentials?.token();
    } catch {
      // Signing in failed (unreachable, or refused): try again after the backoff.
      this.scheduleReconnect();
      return;
    } finally {
      this.connecting = false;
    }
    if (this.closed || this.watches.size === 0 || this.ws) return;
    const endpoints = this.o.endpoints();
    const endpoint = endpoints[this.endpointIndex % endpoints.length]!;
    let ws: WebSocketLike;
    try {
      const url = wsUrl(endpoint, '/v3/watch');
      ws = token === undefined ? new this.o.WebSocket(url) : new this.o.WebSocket(url, ['Bearer', token]);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.token = token;
    this.ws = ws;
    this.connects++;
    const connectTimer = setTimeout(() => {
      if (this.ws === ws && !this.open) this.drop('connect timeout');
    }, this.o.connectTimeoutMs ?? 10_000);
    ws.onopen = () => {
      clearTimeout(connectTimer);
      if (this.ws !== ws) return;
      this.open = true;
      this.heardSinceBeat = true;
      for (const w of this.watches.values()) this.sendCreate(w);
      this.startHeartbeat();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.heardSinceBeat = true;
      this.onFrame(frameText(ev.data));
    };
    ws.onclose = (ev) => {
      clearTimeout(connectTimer);
      if (this.ws !== ws) return;
      // Refused at the upgrade (a token the server no longer knows, say): sign in again.
      if (!this.open) this.o.credentials?.invalidate(token);
      this.detach(`socket closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`);
    };
    ws.onerror = () => {
      /* a close event follows */
    };
  }

  /** Forgets the current socket; watches learn they are disconnected; reconnect if any remain. */
  private detach(reason: string): void {
    if (!this.ws) return;
    const ws = this.ws;
    ws.onopen = ws.onmessage = ws.onclose = null;
    this.ws = undefined;
    this.open = false;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    for (const w of this.watches.values()) w.onDisconnected(reason);
    if (!this.closed && this.watches.size > 0) {
      this.endpointIndex++;
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => void this.connect(), this.backoff.next());
  }

  private startHeartbeat(): void {
    const every = this.o.heartbeatMs ?? 30_000;
    if (every <= 0) return;
    this.heartbeatTimer = setInterval(() => {
      if (!this.heardSinceBeat) return this.drop('no answer to heartbeat');
      this.heardSinceBeat = false;
      this.requestProgress();
    }, every);
    (this.heartbeatTimer as { unref?: () => void }).unref?.();
  }

  private sendCreate(w: Watch): void {
    const req: Record<string, unknown> = { ...w.request, watch_id: w.id };
    if (w.nextRevision !== undefined) req.start_revision = w.nextRevision;
    this.send({ create_request: req });
  }

  private send(o: object): void {
    const ws = this.ws;
    if (ws && ws.readyState === WS_OPEN) ws.send(JSON.stringify(o));
  }

  private onFrame(text: string): void {
    let msg: { result?: RawWatchResponse; error?: { grpc_code?: number; http_code?: number; message?: string } };
    try {
      msg = JSON.parse(text);
    } catch {
      return this.drop('unparseable frame');
    }
    if (msg.error || !msg.result) {
      // Only a request this client built wrong gets an in-band error: fail every watch not yet confirmed.
      const e = msg.error ?? {};
      const err = errorFromServer(e.grpc_code ?? 0, e.message ?? 'watch request rejected', e.http_code ?? 0);
      for (const w of [...this.watches.values()]) if (!w.live) this.end(w, err);
      return;
    }
    const r = msg.result;
    const revision = Number(r.header?.revision ?? 0);
    const id = Number(r.watch_id ?? 0);
    if (id === -1 && !r.created && !r.canceled) {
      // A stream-wide progress answer: every watch confirmed on this socket is caught up.
      for (const w of this.watches.values()) if (w.live) w.onProgress(revision);
      return;
    }
    if (id === -1 && r.created && r.canceled) return this.refused(r.cancel_reason ?? 'watch refused by the server');
    const w = this.watches.get(id);
    if (!w) return; // a watch canceled while answers were in flight
    if (r.canceled) {
      const compactRevision = Number(r.compact_revision ?? 0);
      const err =
        compactRevision > 0
          ? new CompactedError(`etcdserver: mvcc: required revision has been compacted (resume point ${w.nextRevision}, compacted at ${compactRevision})`, compactRevision)
          : new WatchCanceledError(r.cancel_reason || 'watch canceled by the server', 0, 0);
      return this.end(w, err);
    }
    if (r.created) {
      this.backoff.reset();
      return w.onCreated(revision);
    }
    if (r.events && r.events.length > 0) {
      const events = new Array(r.events.length);
      for (let i = 0; i < events.length; i++) events[i] = decodeEvent(r.events[i]!);
      return w.onEvents(events);
    }
    w.onProgress(revision);
  }

  /**
   * A create the server refused before it existed (auth: etcd answers watch_id -1). Answers come
   * in request order, so it is the oldest watch not yet confirmed on this socket.
   */
  private refused(reason: string): void {
    const w = [...this.watches.values()].find((x) => !x.live);
    if (!w) return;
    if (isStaleToken(reason) && this.o.credentials?.renewable) {
      // Not the watch's fault: renew the token and open a new socket (it re-creates every watch).
      this.o.credentials.invalidate(this.token);
      return this.drop('auth token went stale');
    }
    this.end(w, new WatchCanceledError(reason, 0, 0));
  }

  private end(w: Watch, err: CompactedError | WatchCanceledError | ReturnType<typeof errorFromServer>): void {
    this.watches.delete(w.id);
    w.fail(err);
    if (this.watches.size === 0) this.idle();
  }
}
