/**
 * A KV (the calls of src/mvcc/kv.ts the contract suite uses) over a running server's etcd JSON
 * gateway: /v3/kv/{range,put,deleterange,txn,compaction}, base64 bytes, int64 as strings. Results
 * come back in the store's shapes (Buffers, numbers) and error answers as the store's typed errors
 * (kv-wire.ts), so test/contracts/kv-contract.ts asserts the same things of it as of the store.
 */
import http from 'node:http';
import { base64Bytes, KvWire, WireKv, wireError, type KvMethod } from './kv-wire.ts';

/** The gateway path of each KV method. */
const PATHS: Record<KvMethod, string> = {
  Range: '/v3/kv/range',
  Put: '/v3/kv/put',
  DeleteRange: '/v3/kv/deleterange',
  Txn: '/v3/kv/txn',
  Compact: '/v3/kv/compaction',
};

export class HttpKv extends WireKv {
  /** `url`: the server's base URL, e.g. http://127.0.0.1:2379. */
  constructor(private readonly url: string) {
    super(new KvWire(base64Bytes));
  }

  protected async call(method: KvMethod, body: object): Promise<any> {
    const path = PATHS[method];
    const { status, text } = await postOnce(new URL(path, this.url), JSON.stringify(body));
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`POST ${path}: HTTP ${status}, not JSON: ${text}`);
    }
    if (status === 200) return json;
    // Unary errors are grpc-gateway's {"error", "message", "code"} with the mapped HTTP status.
    if (typeof json?.message === 'string') throw wireError(Number(json.code), json.message, status);
    throw new Error(`POST ${path}: HTTP ${status}: ${text}`);
  }
}

/** One POST on its own connection (no keep-alive: a server stopped after each test closes at once). */
function postOnce(url: URL, data: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`POST ${url.pathname} timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}
