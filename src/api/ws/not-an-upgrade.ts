/**
 * What a GET without `Upgrade: websocket` gets on a route that only works as a WebSocket
 * (@fastify/websocket would answer an empty 404, as if the path did not exist).
 * - etcd's paths (/v3/watch, /v3/lease/keepalive) answer as etcd 3.4 does there: its gateway
 *   sees a GET on a POST endpoint, `405 Method Not Allowed` in plain text.
 * - watchkv's own WebSocket routes answer 400 with the error map's JSON saying what is needed.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { kvError } from '../../errors.ts';

/** etcd's answer to a method its gateway has no route for (also used by app.ts's not-found handler). */
export function etcdMethodNotAllowed(_req: FastifyRequest, reply: FastifyReply): void {
  void reply.code(405).type('text/plain; charset=utf-8').send('Method Not Allowed\n');
}

export function webSocketRequired(req: FastifyRequest): never {
  throw kvError('ERR_INVALID_ARGUMENT', `GET ${req.url.split('?')[0]} is a WebSocket: send it with "Upgrade: websocket"`);
}
