import type { FastifyReply } from 'fastify';

/**
 * Sends a pre-encoded JSON body with etcd's exact `Content-Type: application/json`. A Buffer
 * payload keeps fastify from appending "; charset=utf-8" to the header.
 */
export function sendJson(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').send(Buffer.from(body));
}
