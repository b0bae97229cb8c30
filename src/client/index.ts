/**
 * The watchkv client SDK, universal entry (browsers, Deno, Node 22+): only the global fetch and
 * WebSocket. Node 20 users import "watchkv/client", whose Node entry (node.ts) supplies `ws`.
 */
export { WatchKvClient, type Alarm, type ClientOptions, type Member, type StatusResult } from './client.ts';
export { Watch, type WatchOptions, type WatchBatch, type WatchEventsMap } from './watch.ts';
export { WatchConnection } from './watch-connection.ts';
export { Informer, type InformerOptions, type InformerChange, type InformerEvents } from './informer.ts';
export { TxnBuilder, op, type TxnOp, type CompareOp, type CompareTarget, type TxnResult, type TxnResponse } from './txn.ts';
export { Lease, LeaseApi, type LeaseId, type LeaseTimeToLive } from './lease.ts';
export { KvApi, type RangeResult, type PutResult, type DeleteResult } from './kv.ts';
export type { RangeOptions, PutOptions, DeleteOptions } from './kv-request.ts';
export { KeyValue, type WatchEvent, type ResponseHeader } from './types.ts';
export { Backoff, type BackoffOptions } from './backoff.ts';
export { toBase64, fromBase64, toBytes, utf8, prefixRangeEnd, type BytesLike } from './bytes.ts';
export type { WebSocketLike, WebSocketConstructor } from './websocket.ts';
export type { AuthOptions } from './credentials.ts';
export { AuthApi, type Permission, type PermissionType, type KeySpan } from './auth.ts';
export * from './errors.ts';
