/**
 * Installs browser safety on the fastify app: @fastify/cors answers preflights and adds the
 * Access-Control-* headers for `--cors` origins; an onRequest hook, added before any route so
 * every route (WebSocket upgrades included: @fastify/websocket routes them through fastify)
 * gets it by default, refuses a foreign `Origin` with 403.
 */
import type { FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import { originAllowed } from './origin.ts';
import { kvError } from '../../errors.ts';
import { errorBody, mapError } from '../error-map.ts';
import { sendJson } from '../send-json.ts';

export async function browserGuard(app: FastifyInstance, allowedOrigins: readonly string[]): Promise<void> {
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin === undefined) {
      // etcd answers every OPTIONS with an empty 200, whatever the path; a preflight (it has an
      // Origin) goes on to @fastify/cors below, set to answer as etcd does.
      if (req.method === 'OPTIONS') return reply.code(200).send();
      return;
    }
    // HTTP/2 names the scheme in :scheme: on watchkv's own HTTP/2 layer the request reaches this
    // app through an internal session whose socket is not the client's TLS socket.
    const h2Scheme = req.headers[':scheme'];
    const scheme = h2Scheme === 'https' || h2Scheme === 'http' ? h2Scheme : (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    if (originAllowed({ origin, host: req.headers.host, scheme }, allowedOrigins)) return;
    // The message says what is wrong; the 403 also keeps a form POST from writing anything.
    const m = mapError(kvError('ERR_ORIGIN_NOT_ALLOWED', `origin not allowed: ${origin}`));
    return sendJson(reply, m.httpStatus, errorBody(m));
  });
  if (allowedOrigins.length === 0) return;
  await app.register(cors, {
    // The guard above already refused the rest; here each allowed origin is echoed back.
    origin: allowedOrigins.includes('*') ? '*' : [...allowedOrigins],
    methods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match'],
    exposedHeaders: ['ETag', 'X-Etcd-Revision'],
    maxAge: 600,
    // etcd: 200 for any OPTIONS from an allowed origin, Access-Control-Request-Method or not.
    optionsSuccessStatus: 200,
    strictPreflight: false,
  });
}
