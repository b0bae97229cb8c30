/**
 * Permissions for queue routes, as /v1/kv checks keys: a queue is the key range
 * `/queues/{name}/`, so a role needs READ on it to look (stats, list), WRITE to enqueue, purge or
 * configure, and READWRITE to consume (a take reads items and writes their state).
 */
import type { FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.ts';
import { allow } from '../security/request-auth.ts';
import { QUEUES_PREFIX, prefixEnd, queuePrefix } from '../../queue/queue-keys.ts';

export type QueueAccess = 'read' | 'write' | 'readwrite';

export function allowQueue(ctx: ApiContext, req: FastifyRequest, name: string | undefined, access: QueueAccess): void {
  const prefix = name === undefined ? QUEUES_PREFIX : queuePrefix(name);
  const range = { key: Buffer.from(prefix, 'utf8'), rangeEnd: prefixEnd(prefix) };
  if (access !== 'write') allow(ctx, req, { kind: 'range', req: range });
  if (access !== 'read') allow(ctx, req, { kind: 'deleteRange', req: range });
}
