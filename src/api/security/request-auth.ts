/**
 * Who an HTTP request is (auth), and the one route table that says which routes need what.
 *
 * The token, in the order looked at:
 * 1. `Authorization: <token>` (etcd's gateway; a `Bearer ` prefix is accepted too);
 * 2. `Sec-WebSocket-Protocol: Bearer, <token>` — browsers cannot set headers on a WebSocket,
 *    and this is the grpc-websocket-proxy convention etcd's gateway uses (the server answers
 *    the `Bearer` subprotocol);
 * 3. `?token=<token>` — for EventSource (SSE), which can set neither. The access log never
 *    writes query strings (access-log.ts), so the token is not logged.
 * With TLS and --client-cert-auth, a request without a token is the user its verified client
 * certificate's CN names (etcd's rule).
 *
 * Routes: PUBLIC ones need nothing and ignore a token (etcd 3.4 checks none of the lease calls
 * besides revoke, and never looks at the credential of a member list or a status: Patroni lists
 * the members before it signs in); CHECKED ones resolve the user here and check what they need in
 * their handler through auth-check.ts; every other route — including routes added later — needs
 * the root role while auth is enabled, so a new route is safe by default.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { ApiContext } from '../context.ts';
import { authorize, maintenanceAuth, type Access } from '../../auth/auth-check.ts';
import type { AuthInfo } from '../../auth/auth-store.ts';

const PUBLIC = new Set([
  '/healthz', '/readyz', '/livez', '/health', '/metrics', '/version', '/', '/ui', '/ui/', '/ui/*', '/docs', '/docs/', '/docs/*', '/openapi.yaml',
  '/v3/auth/authenticate', '/v3/cluster/member/list', '/v3/maintenance/status',
  '/v3/lease/grant', '/v3/lease/keepalive', '/v3/lease/timetolive', '/v3/lease/leases', '/v3/kv/lease/timetolive', '/v3/kv/lease/leases',
]);

const CHECKED = new Set([
  '/v3/kv/range', '/v3/kv/put', '/v3/kv/deleterange', '/v3/kv/txn', '/v3/kv/compaction',
  '/v3/lease/revoke', '/v3/kv/lease/revoke', '/v3/watch', '/v1/kv/*', '/v1/watch/*', '/v3/maintenance/alarm',
  // Work queues: each handler checks its queue's key range /queues/{name}/ (api/queue/queue-auth.ts).
  '/v1/queues', '/v1/queues/:name', '/v1/queues/:name/items', '/v1/queues/:name/take', '/v1/queues/:name/ack',
  '/v1/queues/:name/nack', '/v1/queues/:name/extend', '/v1/queues/:name/consume',
]);

/**
 * Root only, but the handler resolves the credential and checks it: a refusal must read as the
 * stream's error etcd sends (maintenance-snapshot.ts).
 */
const SELF_CHECKED = new Set(['/v3/maintenance/snapshot']);

/**
 * Routes of etcd's Maintenance server, whose credential errors carry its auth package's wording
 * (auth-check.ts maintenanceAuth): the root-only defragment and hash, and the alarm's token.
 */
const MAINTENANCE = new Set(['/v3/maintenance/defragment', '/v3/maintenance/hash', '/v3/maintenance/alarm']);

const INFO = Symbol('watchkv.authInfo');
type WithInfo = FastifyRequest & { [INFO]?: AuthInfo | undefined };

export function tokenOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string' && h !== '') return h.startsWith('Bearer ') ? h.slice(7) : h;
  const proto = req.headers['sec-websocket-protocol'];
  if (typeof proto === 'string') {
    const parts = proto.split(',').map((p) => p.trim());
    const i = parts.indexOf('Bearer');
    if (i >= 0 && parts[i + 1]) return parts[i + 1];
  }
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  if (typeof q === 'string' && q !== '') return q;
  return undefined;
}

/** The request's user (undefined while auth is disabled); throws ERR_AUTH_INVALID_TOKEN. */
export function authInfoOf(ctx: ApiContext, req: FastifyRequest): AuthInfo | undefined {
  const r = req as WithInfo;
  if (INFO in r) return r[INFO];
  const info = identify(ctx, req);
  r[INFO] = info;
  return info;
}

/**
 * The request's user from its credential, read afresh (not the answer authInfoOf keeps): a watch
 * stream asks again at each create, so a token that expired since the open no longer counts.
 */
export function identify(ctx: ApiContext, req: FastifyRequest): AuthInfo | undefined {
  const token = tokenOf(req);
  if (token === undefined && ctx.config.clientCertAuth) {
    const sock = req.raw.socket as TLSSocket;
    const cn = sock.encrypted && sock.authorized ? sock.getPeerCertificate()?.subject?.CN : undefined;
    return typeof cn === 'string' && cn !== '' ? ctx.auth.infoFromCommonName(cn) : ctx.auth.infoFromToken(undefined);
  }
  return ctx.auth.infoFromToken(token);
}

/** The check a CHECKED route's handler makes on its decoded request. */
export function allow(ctx: ApiContext, req: FastifyRequest, access: Access): void {
  authorize(ctx.auth, authInfoOf(ctx, req), access);
}

/** Installs the default: resolve the user on non-public routes, and require root on unlisted ones. */
export function routeAuth(app: FastifyInstance, ctx: ApiContext): void {
  app.addHook('preHandler', async (req) => {
    const url = req.routeOptions.url;
    if (url === undefined || PUBLIC.has(url) || SELF_CHECKED.has(url) || url.startsWith('/ui/') || url.startsWith('/docs/')) return;
    if (MAINTENANCE.has(url)) maintenanceAuth(() => checkRoute(ctx, req, url));
    else checkRoute(ctx, req, url);
  });
}

/** The hook's check: the credential resolved, and root required unless the route checks itself. */
function checkRoute(ctx: ApiContext, req: FastifyRequest, url: string): void {
  // A token given must be live, auth enabled or not (etcd 3.4): resolving it here says so.
  const info = authInfoOf(ctx, req);
  if (ctx.auth.enabled && !CHECKED.has(url)) authorize(ctx.auth, info, { kind: 'admin' });
}

/** For tests and docs: how a route is guarded. */
export function routeAuthKind(url: string): 'public' | 'checked' | 'root' {
  return PUBLIC.has(url) ? 'public' : CHECKED.has(url) ? 'checked' : 'root';
}
