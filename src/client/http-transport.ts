/**
 * Unary calls to the gateway over the global `fetch`: POST a JSON body, parse a JSON answer, turn
 * an error answer into its typed error. Several endpoints may be given: a call that cannot reach
 * one (refused, reset, timed out) moves to the next, and the client sticks to the one that
 * answered. An answer with an error status is final: the server saw the request — except a
 * stale auth token, which is renewed once (credentials.ts) and the call repeated.
 */
import { Credentials, isStaleToken } from './credentials.ts';
import { ConnectionError, errorFromServer, type WatchKvClientError } from './errors.ts';

export interface HttpTransportOptions {
  endpoints: string[];
  /** ms: one request's limit before it counts as unreachable (default 30,000). */
  requestTimeoutMs?: number;
  /** Another fetch (tests, proxies); defaults to the global one. */
  fetch?: typeof fetch;
  /** The auth token to send, if any (`Authorization: <token>`, as etcd's gateway takes it). */
  credentials?: Credentials;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Normalises "127.0.0.1:2379" or "http://h:p/" to "http://h:p". */
export function normaliseEndpoint(e: string): string {
  const s = e.trim();
  const withScheme = /^[a-z]+:\/\//i.test(s) ? s : `http://${s}`;
  const u = new URL(withScheme);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`endpoint "${e}": only http:// and https:// are supported`);
  return `${u.protocol}//${u.host}`;
}

export class HttpTransport {
  readonly endpoints: string[];
  private current = 0;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  readonly credentials: Credentials;

  constructor(o: HttpTransportOptions) {
    this.credentials = o.credentials ?? new Credentials(undefined);
    if (o.endpoints.length === 0) throw new TypeError('at least one endpoint is needed');
    this.endpoints = o.endpoints.map(normaliseEndpoint);
    this.timeoutMs = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.fetchFn = o.fetch ?? ((...args) => fetch(...args));
  }

  /** The endpoint the next call tries first. */
  get endpoint(): string {
    return this.endpoints[this.current]!;
  }

  /** POSTs `body` as JSON to `path`; resolves with the parsed answer or throws a typed error. */
  async post<T>(path: string, body: object): Promise<T> {
    const text = await this.postText(path, JSON.stringify(body));
    return JSON.parse(text) as T;
  }

  /**
   * Same, with the raw answer text (streaming endpoints answer NDJSON). `anonymous`: send no
   * token (signing in).
   */
  async postText(path: string, body: string, o: { anonymous?: boolean } = {}): Promise<string> {
    const token = o.anonymous ? undefined : await this.credentials.token();
    try {
      return await this.send(path, body, token);
    } catch (err) {
      if (o.anonymous || !this.credentials.renewable || !isStaleToken(err)) throw err;
      this.credentials.invalidate(token);
      return this.send(path, body, await this.credentials.token());
    }
  }

  private async send(path: string, body: string, token: string | undefined): Promise<string> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers.authorization = token;
    let lastErr: unknown;
    for (let i = 0; i < this.endpoints.length; i++) {
      const idx = (this.current + i) % this.endpoints.length;
      let res: Response;
      let text: string;
      try {
        res = await this.fetchFn(this.endpoints[idx] + path, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        text = await res.text();
      } catch (err) {
        lastErr = err;
        continue;
      }
      this.current = idx;
      if (!res.ok) throw parseError(text, res.status);
      return text;
    }
    const detail = lastErr instanceof Error ? (lastErr.cause instanceof Error ? lastErr.cause.message : lastErr.message) : String(lastErr);
    throw new ConnectionError(`no endpoint answered (${this.endpoints.join(', ')}): ${detail}`, 0, 0, { cause: lastErr });
  }
}

function parseError(text: string, status: number): WatchKvClientError {
  try {
    const o = JSON.parse(text) as { error?: unknown; message?: unknown; code?: unknown };
    const message = typeof o.message === 'string' ? o.message : typeof o.error === 'string' ? o.error : text;
    return errorFromServer(typeof o.code === 'number' ? o.code : 0, message, status);
  } catch {
    return errorFromServer(status === 503 ? 14 : 0, text || `HTTP ${status}`, status);
  }
}
