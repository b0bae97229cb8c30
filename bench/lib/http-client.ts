/**
 * A small keep-alive HTTP client for the gateway API, on node:http (cheaper per request than fetch,
 * which matters when the client shares two cores with the server under test).
 */
import { Agent, request } from 'node:http';

export interface HttpReply {
  status: number;
  text: string;
}

export class HttpClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(url: string, maxSockets = 16) {
    const u = new URL(url);
    this.host = u.hostname;
    this.port = Number(u.port);
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  post(path: string, body: string | object, timeoutMs = 60_000): Promise<HttpReply> {
    const data = typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          path,
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`POST ${path} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  /** POST and parse; a non-2xx answer throws with its body. */
  async call<T = Record<string, unknown>>(path: string, body: string | object, timeoutMs?: number): Promise<T> {
    const reply = await this.post(path, body, timeoutMs);
    if (reply.status < 200 || reply.status >= 300) throw new Error(`POST ${path}: HTTP ${reply.status} ${reply.text.slice(0, 300)}`);
    return JSON.parse(reply.text) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** header.revision of a gateway reply, as a number. */
export function headerRevision(reply: { header?: { revision?: string | number } }): number {
  return Number(reply.header?.revision ?? 0);
}

/**
 * Writes `count` transactions of `opsPerTxn` puts each, `concurrency` at a time. keyOf/valueOf get
 * the global op index. With `deadlineMs`, no txn starts after that many ms (txnsDone says how many
 * were written: they are always the first txnsDone, since txns are handed out in order). Returns the
 * revisions written and the time it took.
 */
export async function writeTxns(
  client: HttpClient,
  opts: { txns: number; opsPerTxn: number; concurrency: number; keyOf: (i: number) => string; valueOf: (i: number) => string; deadlineMs?: number },
): Promise<{ firstRev: number; lastRev: number; ms: number; txnsDone: number }> {
  let next = 0;
  let firstRev = Number.POSITIVE_INFINITY;
  let lastRev = 0;
  let txnsDone = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < opts.txns && (opts.deadlineMs === undefined || performance.now() - t0 < opts.deadlineMs)) {
      const t = next++;
      const success = [];
      for (let j = 0; j < opts.opsPerTxn; j++) {
        const i = t * opts.opsPerTxn + j;
        success.push({ request_put: { key: opts.keyOf(i), value: opts.valueOf(i) } });
      }
      const reply = await client.call('/v3/kv/txn', { success }, 120_000);
      const rev = headerRevision(reply);
      if (rev < firstRev) firstRev = rev;
      if (rev > lastRev) lastRev = rev;
      txnsDone++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return { firstRev, lastRev, ms: performance.now() - t0, txnsDone };
}
