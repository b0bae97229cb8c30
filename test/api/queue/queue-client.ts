/**
 * Test clients for the queue API: JSON over HTTP (fetch) and a WebSocket consumer that records
 * every frame. Used by the queue e2e tests and the randomised test.
 */
import WebSocket from 'ws';

export interface Reply {
  status: number;
  body: any;
}

export async function call(base: string, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Reply> {
  const init: RequestInit = { method, headers: {} };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = contentType;
  }
  const r = await fetch(base + path, init);
  const text = await r.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, body: parsed };
}

export const enqueue = async (base: string, q: string, values: unknown[]): Promise<string[]> => {
  const r = await call(base, 'POST', `/v1/queues/${q}/items`, values);
  if (r.status !== 200) throw new Error(`enqueue: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.ids;
};

export class WsConsumer {
  readonly frames: any[] = [];
  readonly deliveries: any[] = [];
  closed = false;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString());
      this.frames.push(f);
      if (f.deliver) this.deliveries.push(f.deliver);
      this.onFrame?.(f);
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on('error', () => {});
  }

  onFrame?: (f: any) => void;

  static async open(base: string, queue: string, query = ''): Promise<WsConsumer> {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/queues/${queue}/consume${query}`);
    const c = new WsConsumer(ws); // listening before 'open': a frame may come with the upgrade
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return c;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first frame (index >= from) that pred accepts. */
  async waitFor(pred: (f: any) => boolean, timeoutMs = 5000, from = 0): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.slice(from).find(pred);
      if (hit) return hit;
      if (this.closed) throw new Error(`socket closed while waiting; frames: ${JSON.stringify(this.frames).slice(0, 500)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; frames: ${JSON.stringify(this.frames).slice(0, 500)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitDeliveries(n: number, timeoutMs = 5000): Promise<any[]> {
    await this.waitFor(() => this.deliveries.length >= n, timeoutMs);
    return this.deliveries.slice(0, n);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const done = new Promise((r) => this.ws.once('close', r));
    this.ws.close();
    await done;
  }

  terminate(): void {
    this.ws.terminate();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
