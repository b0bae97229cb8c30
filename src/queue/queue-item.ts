/**
 * One item in memory (queue-state.ts owns them) and the store ops that write its current state.
 */
import type { RequestOp } from '../mvcc/kv.ts';
import type { ConsumerSink } from './queue-api.ts';
import { deadKey, encodeItem, type HistoryEntry, type ItemRecord } from './queue-keys.ts';

/** Whoever holds an item in flight (a QueueConsumer): the set of what it holds, and where to tell it. */
export interface ItemHolder {
  readonly heldItems: Set<Item>;
  readonly sink: ConsumerSink;
}

export interface Item {
  readonly id: string;
  readonly key: string;
  readonly valueJson: string;
  readonly enqueuedRevision: number;
  readonly order: number;
  readonly enqueuedAt: number;
  attempts: number;
  state: 'ready' | 'inflight' | 'gone' | 'dead';
  /** Ready but waiting in `delayed` (its backoff has not ended). */
  delayed: boolean;
  notBefore: number;
  deadline: number;
  holderKind: 'ws' | 'http' | '';
  holder: ItemHolder | undefined;
  /** The current delivery reached its consumer's sink. */
  sent: boolean;
  history: HistoryEntry[];
  gen: number;
}

/** The ops that make the store show `item` as memory does: put, delete, or move to the dead letter. */
export function itemOps(queueName: string, item: Item): RequestOp[] {
  const key = Buffer.from(item.key, 'utf8');
  if (item.state === 'gone') return [{ deleteRange: { key } }];
  const record: ItemRecord = {
    state: item.state,
    attempts: item.attempts,
    enqueuedAt: item.enqueuedAt,
    notBefore: item.notBefore,
    deadline: item.deadline,
    holder: item.state === 'inflight' ? item.holderKind : '',
    history: item.history,
    valueJson: item.valueJson,
  };
  if (item.state === 'dead') {
    return [{ deleteRange: { key } }, { put: { key: Buffer.from(deadKey(queueName, item.id), 'utf8'), value: encodeItem(record) } }];
  }
  return [{ put: { key, value: encodeItem(record) } }];
}
