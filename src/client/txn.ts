/**
 * A compare-and-swap transaction builder:
 *
 *   await client.txn()
 *     .if('config', 'version', '==', 0)        // the key does not exist yet
 *     .then(op.put('config', 'v1'))
 *     .else(op.get('config'))
 *     .commit();
 *
 * Compare targets are etcd's: version, create (revision), mod (revision), value, lease.
 */
import { toBase64, type BytesLike } from './bytes.ts';
import type { HttpTransport } from './http-transport.ts';
import { decodeDelete, decodePut, decodeRange, type DeleteResult, type PutResult, type RangeResult } from './kv.ts';
import { deleteBody, keyRange, putBody, rangeBody, type DeleteOptions, type PutOptions, type RangeOptions } from './kv-request.ts';
import { decodeHeader, type RawHeader, type ResponseHeader } from './types.ts';

export type CompareTarget = 'version' | 'create' | 'mod' | 'value' | 'lease';
export type CompareOp = '==' | '!=' | '>' | '<';

const RESULT: Record<CompareOp, string> = { '==': 'EQUAL', '!=': 'NOT_EQUAL', '>': 'GREATER', '<': 'LESS' };
const TARGET: Record<CompareTarget, [string, string]> = {
  version: ['VERSION', 'version'],
  create: ['CREATE', 'create_revision'],
  mod: ['MOD', 'mod_revision'],
  value: ['VALUE', 'value'],
  lease: ['LEASE', 'lease'],
};

/** One operation of a txn branch. */
export type TxnOp = { request_range: object } | { request_put: object } | { request_delete_range: object } | { request_txn: object };

/** Builders for txn operations. */
export const op = {
  get: (key: BytesLike, o: RangeOptions = {}): TxnOp => ({ request_range: rangeBody(key, o) }),
  put: (key: BytesLike, value: BytesLike, o: PutOptions = {}): TxnOp => ({ request_put: putBody(key, value, o) }),
  delete: (key: BytesLike, o: DeleteOptions = {}): TxnOp => ({ request_delete_range: deleteBody(key, o) }),
};

export type TxnResponse =
  | ({ type: 'range' } & RangeResult)
  | ({ type: 'put' } & PutResult)
  | ({ type: 'delete' } & DeleteResult)
  | ({ type: 'txn' } & TxnResult);

export interface TxnResult {
  header: ResponseHeader;
  revision: number;
  succeeded: boolean;
  responses: TxnResponse[];
}

interface RawTxnResponse {
  header?: RawHeader;
  succeeded?: boolean;
  responses?: Array<Record<string, never>>;
}

function decodeTxn(r: RawTxnResponse): TxnResult {
  const header = decodeHeader(r.header);
  const responses = (r.responses ?? []).map((one): TxnResponse => {
    if ('response_range' in one) return { type: 'range', ...decodeRange(one.response_range) };
    if ('response_put' in one) return { type: 'put', ...decodePut(one.response_put) };
    if ('response_delete_range' in one) return { type: 'delete', ...decodeDelete(one.response_delete_range) };
    return { type: 'txn', ...decodeTxn(one.response_txn ?? {}) };
  });
  return { header, revision: header.revision, succeeded: r.succeeded === true, responses };
}

export class TxnBuilder {
  private readonly compare: object[] = [];
  private readonly success: TxnOp[] = [];
  private readonly failure: TxnOp[] = [];

  constructor(private readonly http?: HttpTransport) {}

  /** Adds a comparison (all must hold for `then` to run). `range` compares every key of a range. */
  if(key: BytesLike, target: CompareTarget, cmp: CompareOp, value: BytesLike | number | bigint, range?: { prefix?: boolean; end?: BytesLike }): this {
    const [t, field] = TARGET[target];
    if (!t) throw new TypeError(`unknown compare target "${target}" (use version, create, mod, value or lease)`);
    if (!RESULT[cmp]) throw new TypeError(`unknown compare operator "${cmp}" (use ==, !=, > or <)`);
    const c: Record<string, unknown> = { ...keyRange(key, range ?? {}), target: t, result: RESULT[cmp] };
    c[field] = target === 'value' ? toBase64(typeof value === 'number' || typeof value === 'bigint' ? String(value) : value) : String(value);
    this.compare.push(c);
    return this;
  }

  then(...ops: TxnOp[]): this {
    this.success.push(...ops);
    return this;
  }

  else(...ops: TxnOp[]): this {
    this.failure.push(...ops);
    return this;
  }

  /** This txn as a nested operation of another txn. */
  asOp(): TxnOp {
    return { request_txn: this.body() };
  }

  body(): object {
    return { compare: this.compare, success: this.success, failure: this.failure };
  }

  async commit(): Promise<TxnResult> {
    if (!this.http) throw new TypeError('this txn has no client: use client.txn()');
    return decodeTxn(await this.http.post<RawTxnResponse>('/v3/kv/txn', this.body()));
  }
}
