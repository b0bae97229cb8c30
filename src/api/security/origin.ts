/**
 * Browser safety: which `Origin` may talk to watchkv.
 *
 * Browsers attach `Origin` to every cross-site request that can change state — fetch, XHR, a
 * form POST (even text/plain or form-urlencoded, which skip the CORS preflight) and a WebSocket
 * upgrade (which CORS does not cover at all). So one rule closes all of them: a request that
 * carries an `Origin` must name an allowed one, or it is refused with 403 before any route runs.
 *
 * Allowed: an origin listed in etcd's `--cors` flag (`*` allows every origin, as in etcd), and
 * the server's own origin (the /ui explorer is served from it): `Origin` equal to the scheme and
 * `Host` the request came in on. Requests without `Origin` (curl, etcdctl, SDKs) are unaffected.
 * `Origin: null` (sandboxed frames, file: pages) is never same-origin, so only `*` allows it.
 */

// The allowed list comes normalised from cli-options.ts (--cors): lower case, no trailing slash.

export interface OriginRequest {
  /** The `Origin` header, if any. */
  origin: string | undefined;
  /** The `Host` header the request came in on. */
  host: string | undefined;
  /** 'http' or 'https': the scheme of the listener the request came in on. */
  scheme: string;
}

/** True when the request may proceed: no Origin, its own origin, or an allowed one. */
export function originAllowed(req: OriginRequest, allowed: readonly string[]): boolean {
  const origin = req.origin;
  if (origin === undefined) return true;
  if (allowed.includes('*')) return true;
  const o = origin.trim().toLowerCase();
  if (req.host !== undefined && o === `${req.scheme}://${req.host.toLowerCase()}`) return true;
  return allowed.includes(o);
}
