/**
 * The store's request/result types (src/mvcc/kv.ts) ↔ etcd's KV messages, for the KV adapters of
 * the contract suite (kv-over-http.ts, kv-over-grpc.ts). The JSON gateway and proto-loader (with
 * keepCase, longs and enums as strings) give the same snake_case objects; they differ only in how
 * bytes travel, so one codec serves both with a `Bytes` encoding. Fields at their default may be
 * absent (the gateway omits them). Written here, independently of src/upstream/etcd-codec.ts, so
 * the contract does not trust the code it checks.
 *
 * Wire errors come back as the typed errors the store throws: etcd's message names the code (the
 * catalogue follows etcd's wording), and the transport's status must be the one the server's
 * error map gives that code; anything else is thrown as a plain Error, which no contract accepts.
 */
import { mapError } from '../../src/api/error-map.ts';
import { ERROR_MESSAGES, kvError, type ErrorCode } from '../../src/errors.ts';
import type {
  Compare,
  CompactResult,
  DeleteRangeRequest,
  DeleteRangeResult,
  KeyValue,
  KV,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResult,
} from '../../src/mvcc/kv.ts';

type Msg = Record<string, any>;

/** How bytes travel: base64 strings (gateway) or Buffers (gRPC). */
export interface Bytes {
  enc(b: Buffer): unknown;
  dec(v: unknown): Buffer;
}

export const base64Bytes: Bytes = {
  enc: (b) => b.toString('base64'),
  dec: (v) => Buffer.from(typeof v === 'string' ? v : '', 'base64'),
};
export const bufferBytes: Bytes = {
  enc: (b) => b,
  dec: (v) => (Buffer.isBuffer(v) ? Buffer.from(v) : Buffer.alloc(0)),
};

const int = (v: unknown): number => (v === undefined || v === null || v === '' ? 0 : Number(v));

export class KvWire {
  constructor(private readonly bytes: Bytes) {}

  range(r: RangeRequest): Msg {
    const m: Msg = { key: this.bytes.enc(r.key), limit: String(r.limit ?? 0), revision: String(r.revision ?? 0) };
    if (r.rangeEnd) m.range_end = this.bytes.enc(r.rangeEnd);
    if (r.sortOrder) m.sort_order = r.sortOrder;
    if (r.sortTarget) m.sort_target = r.sortTarget;
    if (r.serializable) m.serializable = true;
    if (r.keysOnly) m.keys_only = true;
    if (r.countOnly) m.count_only = true;
    if (r.minModRevision) m.min_mod_revision = String(r.minModRevision);
    if (r.maxModRevision) m.max_mod_revision = String(r.maxModRevision);
    if (r.minCreateRevision) m.min_create_revision = String(r.minCreateRevision);
    if (r.maxCreateRevision) m.max_create_revision = String(r.maxCreateRevision);
    return m;
  }

  put(r: PutRequest): Msg {
    const m: Msg = { key: this.bytes.enc(r.key), value: this.bytes.enc(r.value), lease: String(r.lease ?? 0n) };
    if (r.prevKv) m.prev_kv = true;
    if (r.ignoreValue) m.ignore_value = true;
    if (r.ignoreLease) m.ignore_lease = true;
    return m;
  }

  deleteRange(r: DeleteRangeRequest): Msg {
    const m: Msg = { key: this.bytes.enc(r.key) };
    if (r.rangeEnd) m.range_end = this.bytes.enc(r.rangeEnd);
    if (r.prevKv) m.prev_kv = true;
    return m;
  }

  txn(t: TxnRequest): Msg {
    return { compare: t.compare.map((c) => this.compare(c)), success: t.success.map((o) => this.op(o)), failure: t.failure.map((o) => this.op(o)) };
  }

  private compare(c: Compare): Msg {
    const m: Msg = { key: this.bytes.enc(c.key), target: c.target, result: c.result };
    if (c.rangeEnd) m.range_end = this.bytes.enc(c.rangeEnd);
    if (c.target === 'VERSION') m.version = String(c.version ?? 0);
    if (c.target === 'CREATE') m.create_revision = String(c.createRevision ?? 0);
    if (c.target === 'MOD') m.mod_revision = String(c.modRevision ?? 0);
    if (c.target === 'VALUE') m.value = this.bytes.enc(c.value ?? Buffer.alloc(0));
    if (c.target === 'LEASE') m.lease = String(c.lease ?? 0n);
    return m;
  }

  private op(o: RequestOp): Msg {
    if ('range' in o) return { request_range: this.range(o.range) };
    if ('put' in o) return { request_put: this.put(o.put) };
    if ('deleteRange' in o) return { request_delete_range: this.deleteRange(o.deleteRange) };
    return { request_txn: this.txn(o.txn) };
  }

  // ---- results ----

  kv(m: Msg): KeyValue {
    return {
      key: this.bytes.dec(m.key),
      createRevision: int(m.create_revision),
      modRevision: int(m.mod_revision),
      version: int(m.version),
      value: this.bytes.dec(m.value),
      lease: BigInt(m.lease ?? 0),
    };
  }

  rangeResult(m: Msg): RangeResult {
    return { revision: int(m.header?.revision), kvs: (m.kvs ?? []).map((k: Msg) => this.kv(k)), count: int(m.count), more: m.more === true };
  }

  putResult(m: Msg): PutResult {
    const r: PutResult = { revision: int(m.header?.revision) };
    if (m.prev_kv) r.prevKv = this.kv(m.prev_kv);
    return r;
  }

  deleteResult(m: Msg): DeleteRangeResult {
    return { revision: int(m.header?.revision), deleted: int(m.deleted), prevKvs: (m.prev_kvs ?? []).map((k: Msg) => this.kv(k)) };
  }

  /**
   * A nested txn's header is empty on the wire (etcd's, and so watchkv's): its result takes the
   * enclosing txn's revision, the only one the wire tells.
   */
  txnResult(m: Msg, enclosing?: number): TxnResult {
    const revision = int(m.header?.revision) || (enclosing ?? 0);
    return { revision, succeeded: m.succeeded === true, responses: (m.responses ?? []).map((r: Msg) => this.responseOp(r, revision)) };
  }

  private responseOp(r: Msg, revision: number): ResponseOp {
    if (r.response_range) return { range: this.rangeResult(r.response_range) };
    if (r.response_put) return { put: this.putResult(r.response_put) };
    if (r.response_delete_range) return { deleteRange: this.deleteResult(r.response_delete_range) };
    if (r.response_txn) return { txn: this.txnResult(r.response_txn, revision) };
    throw new Error(`unknown txn response op: ${JSON.stringify(Object.keys(r))}`);
  }
}

const BY_MESSAGE = new Map<string, ErrorCode>(Object.entries(ERROR_MESSAGES).map(([code, msg]) => [msg, code as ErrorCode]));

/**
 * A transport's error → the store's typed error: the message must be the catalogue's for one
 * code, and the gRPC code (and HTTP status, when given) the ones the error map gives it.
 */
export function wireError(grpcCode: number, message: string, httpStatus?: number): Error {
  const code = BY_MESSAGE.get(message);
  if (code) {
    const want = mapError(kvError(code));
    if (want.grpcCode === grpcCode && (httpStatus === undefined || want.httpStatus === httpStatus)) return kvError(code, message);
  }
  return new Error(`unmapped wire error: grpc code ${grpcCode}${httpStatus === undefined ? '' : `, HTTP ${httpStatus}`}: ${message}`);
}

/** The etcd KV methods the contract calls, by their gRPC names. */
export type KvMethod = 'Range' | 'Put' | 'DeleteRange' | 'Txn' | 'Compact';

/**
 * The contract's KV calls over one transport: a subclass sends one etcd KV request and returns
 * the decoded response (or throws wireError); this turns requests and results into the store's
 * shapes with KvWire, the same way for every transport.
 */
export abstract class WireKv implements Pick<KV, 'range' | 'put' | 'deleteRange' | 'txn' | 'compact'> {
  constructor(private readonly wire: KvWire) {}

  protected abstract call(method: KvMethod, req: object): Promise<any>;

  async range(req: RangeRequest): Promise<RangeResult> {
    return this.wire.rangeResult(await this.call('Range', this.wire.range(req)));
  }

  async put(req: PutRequest): Promise<PutResult> {
    return this.wire.putResult(await this.call('Put', this.wire.put(req)));
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResult> {
    return this.wire.deleteResult(await this.call('DeleteRange', this.wire.deleteRange(req)));
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    return this.wire.txnResult(await this.call('Txn', this.wire.txn(req)));
  }

  async compact(revision: number, physical?: boolean): Promise<CompactResult> {
    const res = await this.call('Compact', { revision: String(revision), physical: physical === true });
    return { revision: Number(res.header?.revision ?? 0) };
  }
}
