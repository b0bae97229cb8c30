/**
 * A request's header fields, as HPACK decoded them, checked against RFC 9113 §8.3 and turned into
 * the header object node:http2 would give a handler (so the direct gRPC paths read them the same
 * way on either layer).
 */
import type * as http2 from 'node:http2';

/** Headers a request may not carry over HTTP/2 (RFC 9113 §8.2.2). */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/**
 * A request's fields as node gives them (duplicates joined, set-cookie and cookie as node does),
 * or undefined for a malformed request (§8.3: a pseudo-header after a regular one, an unknown or
 * repeated pseudo-header, a connection-specific header, an uppercase name, no :method or :path).
 */
export function requestHeaders(fields: Array<[string, string]>): http2.IncomingHttpHeaders | undefined {
  const h: Record<string, string | string[]> = Object.create(null);
  let regular = false;
  for (const [name, value] of fields) {
    if (name.startsWith(':')) {
      if (regular || h[name] !== undefined) return undefined;
      if (name !== ':method' && name !== ':path' && name !== ':scheme' && name !== ':authority' && name !== ':protocol') return undefined;
      h[name] = value;
      continue;
    }
    regular = true;
    if (name !== name.toLowerCase() || CONNECTION_HEADERS.has(name) || (name === 'te' && value !== 'trailers')) return undefined;
    const prior = h[name];
    if (prior === undefined) h[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(prior)) prior.push(value);
    else h[name] = name === 'cookie' ? `${prior}; ${value}` : `${prior}, ${value}`;
  }
  if (h[':method'] === undefined || (h[':path'] === undefined && h[':method'] !== 'CONNECT')) return undefined;
  return h as http2.IncomingHttpHeaders;
}
