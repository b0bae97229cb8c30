/**
 * etcd 3.4 serves its JSON gateway under two prefixes: `/v3/` and `/v3beta/`, the prefix etcd 3.3
 * used (deprecated in 3.4, gone in 3.5). Clients written against 3.3's gateway still call
 * `/v3beta/kv/range`, `/v3beta/watch`, ...; watchkv serves them as their `/v3/` twins, as etcd 3.4
 * does. (`/v3alpha/` is 404 in etcd 3.4 too.) Applied in fastify's `rewriteUrl`, before routing,
 * so every route, the WebSocket watch, auth and CORS see the `/v3/` path.
 */
const BETA = '/v3beta/';

export function gatewayUrl(url: string): string {
  return url.startsWith(BETA) ? `/v3/${url.slice(BETA.length)}` : url;
}
