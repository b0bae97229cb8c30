/**
 * Where a queue lives in the store, and how its records are encoded.
 *
 *   /queues/{name}/settings      {"visibility_ms",…}              (absent: defaults)
 *   /queues/{name}/items/{id}    item record (below)             ready or in flight
 *   /queues/{name}/dead/{id}     item record with its history    failed max_attempts times
 *
 * An item record is JSON: {"state","attempts","enqueued_at","not_before","deadline","holder",
 * "history":[{"attempt","outcome","at"}],"value":<the item>}. `value` comes last and is spliced
 * in as the JSON text it was enqueued with, so a value is never re-encoded. The enqueue revision
 * is the key's create revision; times are wall-clock ms since the epoch, so a deadline or backoff
 * survives a restart.
 */
import type { FailureOutcome } from './queue-api.ts';

export const QUEUES_PREFIX = '/queues/';

/** Queue names: what is safe in a key and a URL path segment. */
export const QUEUE_NAME = /^[A-Za-z0-9._-]{1,128}$/;
/** Item ids: 16 decimal digits (queue-service.ts allocates them). */
export const ITEM_ID = /^\d{16}$/;

export const queuePrefix = (name: string): string => `${QUEUES_PREFIX}${name}/`;
export const settingsKey = (name: string): string => `${QUEUES_PREFIX}${name}/settings`;
export const itemsPrefix = (name: string): string => `${QUEUES_PREFIX}${name}/items/`;
export const itemKey = (name: string, id: string): string => `${itemsPrefix(name)}${id}`;
export const deadPrefix = (name: string): string => `${QUEUES_PREFIX}${name}/dead/`;
export const deadKey = (name: string, id: string): string => `${deadPrefix(name)}${id}`;

/** The end of a prefix range: the prefix with its last byte + 1 (prefixes here end in '/'). */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix, 'utf8');
  b[b.length - 1]! += 1;
  return b;
}

export type KeyKind =
  | { kind: 'settings'; name: string }
  | { kind: 'item'; name: string; id: string }
  | { kind: 'dead'; name: string; id: string };

/** What a key under /queues/ is; undefined for anything the queues do not use. */
export function parseQueueKey(key: string): KeyKind | undefined {
  if (!key.startsWith(QUEUES_PREFIX)) return undefined;
  const parts = key.slice(QUEUES_PREFIX.length).split('/');
  const name = parts[0]!;
  if (!QUEUE_NAME.test(name)) return undefined;
  if (parts.length === 2 && parts[1] === 'settings') return { kind: 'settings', name };
  if (parts.length === 3 && ITEM_ID.test(parts[2]!)) {
    if (parts[1] === 'items') return { kind: 'item', name, id: parts[2]! };
    if (parts[1] === 'dead') return { kind: 'dead', name, id: parts[2]! };
  }
  return undefined;
}

export interface HistoryEntry {
  attempt: number;
  outcome: FailureOutcome;
  at: number;
}

export interface ItemRecord {
  state: 'ready' | 'inflight' | 'dead';
  attempts: number;
  enqueuedAt: number;
  notBefore: number;
  deadline: number;
  holder: 'ws' | 'http' | '';
  history: HistoryEntry[];
  valueJson: string;
}

export function encodeItem(r: ItemRecord): Buffer {
  const head = JSON.stringify({
    state: r.state,
    attempts: r.attempts,
    enqueued_at: r.enqueuedAt,
    not_before: r.notBefore,
    deadline: r.deadline,
    holder: r.holder,
    history: r.history,
  });
  return Buffer.from(`${head.slice(0, -1)},"value":${r.valueJson}}`, 'utf8');
}

/** Decodes a record; a value written by hand (any JSON object with "value") is accepted with defaults. */
export function decodeItem(value: Buffer): ItemRecord | undefined {
  let o: any;
  try {
    o = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== 'object' || !('value' in o)) return undefined;
  const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  return {
    state: o.state === 'inflight' || o.state === 'dead' ? o.state : 'ready',
    attempts: Math.max(0, Math.trunc(num(o.attempts, 0))),
    enqueuedAt: num(o.enqueued_at, Date.now()),
    notBefore: num(o.not_before, 0),
    deadline: num(o.deadline, 0),
    holder: o.holder === 'ws' || o.holder === 'http' ? o.holder : '',
    history: Array.isArray(o.history) ? o.history : [],
    valueJson: JSON.stringify(o.value),
  };
}
