/**
 * Small clients for the etcd JSON gateway that both etcd and watchkv speak: unary POSTs that keep
 * the HTTP status next to the parsed body, a WebSocket watch session, and the streaming-HTTP watch
 * (one POST body holding every request, closed at once, then read forever — the only form that
 * works against etcd 3.4's half-duplex gateway, see shared reference §B.6).
 *
 * Every client records raw parsed messages; comparing and normalising is the caller's business.
 */
import http from 'node:http';
import WebSocket from 'ws';

export interface HttpReply {
  status: number;
  /** Parsed JSON body, or the raw text when the body is not JSON (then `json` is false). */
  body: any;
  json: boolean;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** POST `body` (object → JSON, string → sent verbatim) to `${base}${path}`. */
export function post(base: string, path: string, body: unknown, timeoutMs = 10_000): Promise<HttpReply> {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), json: true });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: text, json: false });
          }
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`POST ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** base64 of a latin1/utf8 string, as the gateway wants bytes. */
export const b64 = (s: string | Buffer): string => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s).toString('base64');
export const unb64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** One watch stream (a WebSocket or a streaming POST); `messages` holds every parsed frame/line. */
export interface WatchSession {
  readonly messages: any[];
  /** Resolves with the first message (index >= `from`) that `pred` accepts; rejects after timeoutMs. */
  waitFor(pred: (m: any) => boolean, timeoutMs?: number, from?: number): Promise<any>;
  /** Resolves once no message arrived for `quietMs` since the call (or `maxMs` passed). */
  settle(quietMs: number, maxMs?: number): Promise<void>;
  send(msg: unknown): void;
  readonly closed: boolean;
  close(): Promise<void>;
}

abstract class SessionBase implements WatchSession {
  readonly messages: any[] = [];
  protected lastAt = Date.now();
  private waiters: Array<() => void> = [];
  closed = false;

  protected push(m: any): void {
    this.messages.push(m);
    this.lastAt = Date.now();
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  protected markClosed(): void {
    this.closed = true;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  waitFor(pred: (m: any) => boolean, timeoutMs = 5000, from = 0): Promise<any> {
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`watch message not seen within ${timeoutMs} ms; got ${JSON.stringify(this.messages).slice(0, 600)}`)), timeoutMs);
      const check = () => {
        for (let i = from; i < this.messages.length; i++) {
          if (pred(this.messages[i])) {
            clearTimeout(deadline);
            resolve(this.messages[i]);
            return;
          }
        }
        if (this.closed) {
          clearTimeout(deadline);
          reject(new Error(`watch stream closed before the message arrived; got ${JSON.stringify(this.messages).slice(0, 600)}`));
          return;
        }
        this.waiters.push(check);
      };
      check();
    });
  }

  async settle(quietMs: number, maxMs = 5000): Promise<void> {
    const called = Date.now();
    const end = called + maxMs;
    for (;;) {
      // Quiet is counted from the later of the last message and this call, so a message already
      // on its way when settle() is called is still waited for.
      const idle = Date.now() - Math.max(this.lastAt, called);
      if (idle >= quietMs || Date.now() >= end || this.closed) return;
      await new Promise((r) => setTimeout(r, Math.max(5, quietMs - idle)));
    }
  }

  abstract send(msg: unknown): void;
  abstract close(): Promise<void>;
}

/** A WebSocket on `${base}${path}` (http → ws; etcd's gateway path by default). Resolves once open. */
export async function openWsWatch(base: string, path = '/v3/watch'): Promise<WatchSession> {
  const ws = new WebSocket(base.replace(/^http/, 'ws') + path);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return new (class extends SessionBase {
    constructor() {
      super();
      ws.on('message', (data) => {
        const text = data.toString();
        try {
          this.push(JSON.parse(text));
        } catch {
          this.push({ unparsable: text });
        }
      });
      ws.on('close', () => this.markClosed());
      ws.on('error', () => this.markClosed());
    }
    send(msg: unknown): void {
      ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
    }
    async close(): Promise<void> {
      if (ws.readyState === WebSocket.CLOSED) return;
      const done = new Promise((r) => ws.once('close', r));
      ws.terminate();
      await done;
    }
  })();
}

/**
 * A streaming POST /v3/watch carrying `requests` as its whole body (the body is closed at once).
 * `status` is the HTTP status; lines are `{"result":…}` objects, or an `{"error":…}` object.
 */
export async function openHttpWatch(base: string, requests: unknown[], path = '/v3/watch'): Promise<WatchSession & { status: number }> {
  const body = requests.map((r) => JSON.stringify(r)).join('\n');
  const url = new URL(path, base);
  const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } });
  const session = new (class extends SessionBase {
    status = 0;
    send(): void {
      throw new Error('the streaming HTTP watch takes all its requests in the one body');
    }
    feed(line: string): void {
      if (line.trim() === '') return;
      try {
        this.push(JSON.parse(line));
      } catch {
        this.push({ unparsable: line });
      }
    }
    ended(): void {
      this.markClosed();
    }
    async close(): Promise<void> {
      req.destroy();
      this.markClosed();
    }
  })();
  await new Promise<void>((resolve, reject) => {
    req.on('response', (res) => {
      session.status = res.statusCode ?? 0;
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          session.feed(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      });
      res.on('end', () => {
        session.feed(buf);
        session.ended();
      });
      res.on('error', () => session.ended());
      resolve();
    });
    req.on('error', (e) => {
      session.ended();
      reject(e);
    });
    req.end(body);
  });
  return session;
}
