/**
 * The KV calls: get, range (with paging at one revision), put, delete, compact; decoded answers.
 */
import { fromBase64, toBase64, type BytesLike } from './bytes.ts';
import type { HttpTransport } from './http-transport.ts';
import { deleteBody, putBody, rangeBody, type DeleteOptions, type PutOptions, type RangeOptions } from './kv-request.ts';
import { decodeHeader, KeyValue, type RawHeader, type RawKeyValue, type ResponseHeader } from './types.ts';

export interface RawRangeResponse {
  header?: RawHeader;
  kvs?: RawKeyValue[];
  more?: boolean;
  count?: string;
}

export interface RangeResult {
  header: ResponseHeader;
  /** The revision the read saw. */
  revision: number;
  kvs: KeyValue[];
  /** True when `limit` cut the answer short. */
  more: boolean;
  /** How many keys are in the range (all of them, whatever the limit). */
  count: number;
}

export interface PutResult {
  header: ResponseHeader;
  revision: number;
  prevKv?: KeyValue;
}

export interface DeleteResult {
  header: ResponseHeader;
  revision: number;
  deleted: number;
  prevKvs: KeyValue[];
}

export function decodeRange(r: RawRangeResponse): RangeResult {
  const header = decodeHeader(r.header);
  return { header, revision: header.revision, kvs: (r.kvs ?? []).map((kv) => new KeyValue(kv)), more: r.more === true, count: Number(r.count ?? 0) };
}

export function decodePut(r: { header?: RawHeader; prev_kv?: RawKeyValue }): PutResult {
  const header = decodeHeader(r.header);
  const out: PutResult = { header, revision: header.revision };
  if (r.prev_kv) out.prevKv = new KeyValue(r.prev_kv);
  return out;
}

export function decodeDelete(r: { header?: RawHeader; deleted?: string; prev_kvs?: RawKeyValue[] }): DeleteResult {
  const header = decodeHeader(r.header);
  return { header, revision: header.revision, deleted: Number(r.deleted ?? 0), prevKvs: (r.prev_kvs ?? []).map((kv) => new KeyValue(kv)) };
}

export class KvApi {
  constructor(private readonly http: HttpTransport) {}

  /** The key's newest version (or at `revision`), undefined when it does not exist. */
  async get(key: BytesLike, o: { revision?: number } = {}): Promise<KeyValue | undefined> {
    const r = await this.range(key, { revision: o.revision });
    return r.kvs[0];
  }

  async range(key: BytesLike, o: RangeOptions = {}): Promise<RangeResult> {
    return decodeRange(await this.http.post<RawRangeResponse>('/v3/kv/range', rangeBody(key, o)));
  }

  /**
   * Every key of a range in pages of `pageSize`, all read at one revision (the first page's, or
   * `o.revision`), so the pages together are one consistent snapshot. Yields each page.
   */
  async *pages(key: BytesLike, o: Omit<RangeOptions, 'limit' | 'countOnly' | 'sortTarget' | 'sortOrder'> & { pageSize?: number } = {}): AsyncGenerator<RangeResult> {
    const pageSize = o.pageSize ?? 1000;
    const first = rangeBody(key, { ...o, limit: pageSize });
    let revision = o.revision ?? 0;
    let body = first;
    for (;;) {
      const page = await this.range(fromBase64(body.key as string), {
        end: body.range_end === undefined ? undefined : fromBase64(body.range_end as string),
        limit: pageSize,
        revision,
        keysOnly: o.keysOnly,
      });
      // A range's header carries the store's current revision, not the one read: pin the first.
      if (revision === 0) revision = page.revision;
      yield { ...page, revision };
      if (!page.more || page.kvs.length === 0) return;
      // The next page starts just after the last key: the key with one zero byte appended.
      const last = page.kvs[page.kvs.length - 1]!.keyBytes;
      const next = new Uint8Array(last.length + 1);
      next.set(last);
      body = { ...first, key: toBase64(next) };
    }
  }

  async put(key: BytesLike, value: BytesLike, o: PutOptions = {}): Promise<PutResult> {
    return decodePut(await this.http.post('/v3/kv/put', putBody(key, value, o)));
  }

  async delete(key: BytesLike, o: DeleteOptions = {}): Promise<DeleteResult> {
    return decodeDelete(await this.http.post('/v3/kv/deleterange', deleteBody(key, o)));
  }

  /** Drops history below `revision`; `physical` waits until it is gone from disk. */
  async compact(revision: number, o: { physical?: boolean } = {}): Promise<{ header: ResponseHeader; revision: number }> {
    const r = await this.http.post<{ header?: RawHeader }>('/v3/kv/compaction', { revision, ...(o.physical ? { physical: true } : {}) });
    const header = decodeHeader(r.header);
    return { header, revision: header.revision };
  }
}
