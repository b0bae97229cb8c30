/**
 * What the server answers, decoded. Keys and values stay base64 until read: a watch delivering
 * thousands of events a second pays for decoding only what the consumer looks at. Revisions are
 * numbers (exact up to 2^53, far beyond any store's life); lease IDs are decimal strings, since
 * they use all 64 bits.
 */
import { base64ToUtf8, fromBase64 } from './bytes.ts';

/** The gateway's KeyValue as JSON: int64s as strings, defaults omitted. */
export interface RawKeyValue {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

export interface RawHeader {
  cluster_id?: string;
  member_id?: string;
  revision?: string;
  raft_term?: string;
}

export interface ResponseHeader {
  clusterId: string;
  memberId: string;
  revision: number;
  raftTerm: number;
}

export function decodeHeader(h: RawHeader | undefined): ResponseHeader {
  return {
    clusterId: h?.cluster_id ?? '0',
    memberId: h?.member_id ?? '0',
    revision: Number(h?.revision ?? 0),
    raftTerm: Number(h?.raft_term ?? 0),
  };
}

export class KeyValue {
  constructor(readonly raw: RawKeyValue) {}
  /** The key as UTF-8 text. */
  get key(): string {
    return base64ToUtf8(this.raw.key ?? '');
  }
  get keyBytes(): Uint8Array {
    return fromBase64(this.raw.key ?? '');
  }
  /** The value as UTF-8 text. */
  get value(): string {
    return base64ToUtf8(this.raw.value ?? '');
  }
  get valueBytes(): Uint8Array {
    return fromBase64(this.raw.value ?? '');
  }
  /** The key exactly as the server sent it (base64): a cheap, exact map key. */
  get keyBase64(): string {
    return this.raw.key ?? '';
  }
  get createRevision(): number {
    return Number(this.raw.create_revision ?? 0);
  }
  get modRevision(): number {
    return Number(this.raw.mod_revision ?? 0);
  }
  get version(): number {
    return Number(this.raw.version ?? 0);
  }
  /** The lease ID ('0' when none). */
  get lease(): string {
    return this.raw.lease ?? '0';
  }
  toJSON(): object {
    return { key: this.key, value: this.value, createRevision: this.createRevision, modRevision: this.modRevision, version: this.version, lease: this.lease };
  }
}

export interface RawEvent {
  type?: 'PUT' | 'DELETE';
  kv?: RawKeyValue;
  prev_kv?: RawKeyValue;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  /** Present when the watch asked for prevKv and the key existed before. */
  prevKv?: KeyValue;
  /** The event's revision (kv.modRevision). */
  revision: number;
}

export function decodeEvent(e: RawEvent): WatchEvent {
  const kv = new KeyValue(e.kv ?? {});
  const ev: WatchEvent = { type: e.type === 'DELETE' ? 'delete' : 'put', kv, revision: kv.modRevision };
  if (e.prev_kv) ev.prevKv = new KeyValue(e.prev_kv);
  return ev;
}
