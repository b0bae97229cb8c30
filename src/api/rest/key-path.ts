/**
 * Keys in plain-REST URLs: the key is the path after a route prefix (`/v1/kv/`, `/v1/watch/`),
 * percent-decoded byte by byte, so any key — binary, `/`, `?`, `%` — has a URL: `%XX` is that
 * byte, every other character stands for its UTF-8 bytes. Decoded here from the raw URL rather
 * than by the router, which decodes as UTF-8 text and so cannot carry a byte like 0xFF.
 */
import { kvError } from '../../errors.ts';

const HEX = /^[0-9a-fA-F]{2}$/;

/** Bytes of a percent-encoded path segment; a `%` not followed by two hex digits is a 400. */
export function percentDecode(text: string): Buffer {
  if (!text.includes('%')) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let i = 0;
  while (i < text.length) {
    const pct = text.indexOf('%', i);
    if (pct < 0) {
      parts.push(Buffer.from(text.slice(i), 'utf8'));
      break;
    }
    if (pct > i) parts.push(Buffer.from(text.slice(i, pct), 'utf8'));
    const hex = text.slice(pct + 1, pct + 3);
    if (!HEX.test(hex)) throw kvError('ERR_INVALID_ARGUMENT', `invalid percent-encoding at character ${pct} of the key: use %XX with two hex digits`);
    parts.push(Buffer.of(parseInt(hex, 16)));
    i = pct + 3;
  }
  return Buffer.concat(parts);
}

/** The key of a raw request URL (path + query) under `prefix` (e.g. "/v1/kv/"). */
export function keyFromUrl(rawUrl: string, prefix: string): Buffer {
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  // The router only sends paths that start with the prefix; anything else is a bug upstream.
  if (!path.startsWith(prefix)) throw kvError('ERR_INVALID_ARGUMENT', `path must start with ${prefix}`);
  return percentDecode(path.slice(prefix.length));
}

/**
 * The exclusive end of "every key starting with `prefix`": the prefix with its last byte below
 * 0xFF incremented (trailing 0xFF bytes dropped). An empty or all-0xFF prefix has no such end:
 * the range runs to the end of the keyspace, which kv.ts spells as "\0".
 */
export function prefixEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i]! += 1;
      return end;
    }
  }
  return Buffer.of(0);
}

/** The [key, rangeEnd) of a prefix query in kv.ts's conventions; the empty prefix is every key. */
export function prefixRange(prefix: Buffer): { key: Buffer; rangeEnd: Buffer } {
  return prefix.length === 0 ? { key: Buffer.of(0), rangeEnd: Buffer.of(0) } : { key: prefix, rangeEnd: prefixEnd(prefix) };
}

/** Routes whose path ends in a byte-encoded key (any `%XX`, valid UTF-8 or not). */
const KEY_ROUTES = ['/v1/kv/', '/v1/watch/'];

/**
 * fastify's `rewriteUrl`: the router decodes paths as UTF-8 text and answers 400 on a byte such
 * as `%FF` before any route runs. For the key routes the `%` signs are escaped (`%` → `%25`) so
 * the router sees a valid path; the routes read the key from `request.originalUrl`, untouched.
 */
export function routableUrl(url: string): string {
  if (!url.includes('%') || !KEY_ROUTES.some((p) => url.startsWith(p))) return url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path.replaceAll('%', '%25') + (q < 0 ? '' : url.slice(q));
}
