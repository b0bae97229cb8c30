/**
 * A raw HTTP reader of Server-Sent Events (no EventSource library): parses the stream into
 * messages (`id`, `event`, `data`) and counts comment lines, so tests see exactly what a browser
 * would. pause()/resume() stop reading the socket, to play a slow client.
 */
import http from 'node:http';

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

export class SseClient {
  readonly messages: SseMessage[] = [];
  comments = 0;
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  /** The response body of a non-200 answer. */
  errorBody = '';
  ended = false;
  private buf = '';
  private waiters: Array<() => void> = [];
  private req!: http.ClientRequest;
  private res?: http.IncomingMessage;

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    await new Promise<void>((resolve, reject) => {
      c.req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        c.res = res;
        c.status = res.statusCode ?? 0;
        c.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (c.status === 200 ? c.feed(chunk) : (c.errorBody += chunk)));
        res.on('end', () => c.end());
        res.on('error', () => c.end());
        res.on('close', () => c.end());
        resolve();
      });
      c.req.on('error', (e) => {
        c.end();
        reject(e);
      });
    });
    if (c.status !== 200) await c.waitEnd();
    return c;
  }

  private feed(chunk: string): void {
    this.buf += chunk;
    let cut: number;
    while ((cut = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, cut);
      this.buf = this.buf.slice(cut + 2);
      const m: SseMessage = { event: 'message', data: '' };
      let fields = 0;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments++;
          continue;
        }
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        fields++;
        if (name === 'id') m.id = value;
        else if (name === 'event') m.event = value;
        else if (name === 'data') m.data += (m.data ? '\n' : '') + value;
      }
      if (fields > 0) this.messages.push(m);
    }
    this.wake();
  }

  private end(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves once `pred` holds (checked after every chunk); rejects after timeoutMs. */
  until(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`SSE: timed out waiting for ${what}; got ${JSON.stringify(this.messages).slice(-800)}`)), timeoutMs);
      const check = (): void => {
        if (pred()) {
          clearTimeout(timer);
          resolve();
        } else if (this.ended) {
          clearTimeout(timer);
          reject(new Error(`SSE: stream ended before ${what}; got ${JSON.stringify(this.messages).slice(-800)}`));
        } else this.waiters.push(check);
      };
      check();
    });
  }

  waitEnd(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('SSE: stream did not end')), timeoutMs);
      const check = (): void => {
        if (this.ended) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Messages of one event type. */
  of(event: string): SseMessage[] {
    return this.messages.filter((m) => m.event === event);
  }

  /** Stops reading the socket: the server's writes pile up in its buffers. */
  pause(): void {
    this.res?.pause();
    this.req.socket?.pause();
  }

  resume(): void {
    this.req.socket?.resume();
    this.res?.resume();
  }

  close(): void {
    this.req.destroy();
  }
}
