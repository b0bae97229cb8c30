/**
 * A KV (the calls of src/mvcc/kv.ts the contract suite uses) over a running server's etcd JSON
 * gateway: /v3/kv/{range,put,deleterange,txn,compaction}, base64 bytes, int64 as strings. Results
 * come back in the store's shapes (Buffers, numbers) and error answers as the store's typed errors
 * (kv-wire.ts), so test/contracts/kv-contract.ts asserts the same things of it as of the store.
 */
import type { CompactResult, DeleteRangeRequest, DeleteRangeResult, KV, PutRequest, PutResult, RangeRequest, RangeResult, TxnRequest, TxnResult } from '../../src/mvcc/kv.ts';
import http from 'node:http';
import { base64Bytes, KvWire, wireError } from './kv-wire.ts';

export class HttpKv implements Pick<KV, 'range' | 'put' | 'deleteRange' | 'txn' | 'compact'> {
  private readonly wire = new KvWire(base64Bytes);

  /** `url`: the server's base URL, e.g. http://127.0.0.1:2379. */
  constructor(private readonly url: string) {}

  private async call(path: string, body: object): Promise<any> {
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

  async range(req: RangeRequest): Promise<RangeResult> {
    return this.wire.rangeResult(await this.call('/v3/kv/range', this.wire.range(req)));
  }

  async put(req: PutRequest): Promise<PutResult> {
    return this.wire.putResult(await this.call('/v3/kv/put', this.wire.put(req)));
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResult> {
    return this.wire.deleteResult(await this.call('/v3/kv/deleterange', this.wire.deleteRange(req)));
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    return this.wire.txnResult(await this.call('/v3/kv/txn', this.wire.txn(req)));
  }

  async compact(revision: number, physical?: boolean): Promise<CompactResult> {
    const res = await this.call('/v3/kv/compaction', { revision: String(revision), physical: physical === true });
    return { revision: Number(res.header?.revision ?? 0) };
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
