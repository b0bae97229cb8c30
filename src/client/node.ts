/**
 * The Node entry of the SDK: the universal client, with the `ws` package as its WebSocket when
 * the runtime has no global one (Node 20), and `tls` for https:// servers that need more than the
 * system's CAs: a private CA, a client certificate (a server with --client-cert-auth), or no
 * verification at all. Browsers get index.ts (package.json "exports" conditions), which imports
 * nothing from Node: there the browser owns TLS.
 */
import { createRequire } from 'node:module';
import { WatchKvClient as UniversalClient, type ClientOptions } from './client.ts';
import { globalWebSocket, type WebSocketConstructor } from './websocket.ts';

export * from './index.ts';

const require = createRequire(import.meta.url);
let ws: WebSocketConstructor | undefined;

/**
 * `ws`, loaded on the first socket, not at import: it is ~45 ms of a CLI command's start-up,
 * and most commands (get, put, lease, ...) never open a WebSocket. `tls` goes to each socket.
 */
function lazyWs(tls?: ClientTlsOptions): WebSocketConstructor {
  return function (url: string, protocols?: string[]) {
    ws ??= require('ws') as WebSocketConstructor;
    const Ws = ws as unknown as new (url: string, protocols?: string[], options?: ClientTlsOptions) => unknown;
    return new Ws(url, protocols ?? [], tls && { ...tls });
  } as unknown as WebSocketConstructor;
}

const NodeWebSocket: WebSocketConstructor = globalWebSocket() ?? lazyWs();

/** TLS settings for https:// and wss:// endpoints (PEM contents, as node:tls takes them). */
export interface ClientTlsOptions {
  /** CA certificates the server's certificate must chain to (etcdctl's --cacert), instead of the system's. */
  ca?: string | Buffer;
  /** A client certificate and its key, for a server with --client-cert-auth (etcdctl's --cert / --key). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** false: accept any server certificate (etcdctl's --insecure-skip-tls-verify). Default true. */
  rejectUnauthorized?: boolean;
}

export interface NodeClientOptions extends ClientOptions {
  tls?: ClientTlsOptions;
}

/** The client with a WebSocket (and, given `tls`, a fetch and a WebSocket that use it) for Node. */
export class WatchKvClient extends UniversalClient {
  constructor(options: NodeClientOptions) {
    const { tls, ...rest } = options;
    super(tls ? { WebSocket: lazyWs(tls), fetch: tlsFetch(tls), ...rest } : { WebSocket: NodeWebSocket, ...rest });
  }
}

/** A fetch over an undici Agent holding the TLS settings (the global fetch takes none). */
function tlsFetch(tls: ClientTlsOptions): typeof fetch {
  // Loaded only for a client given `tls`: most uses never need it.
  const undici = require('undici') as typeof import('undici');
  const dispatcher = new undici.Agent({ connect: { ...tls } });
  return ((input: string | URL, init?: RequestInit) => undici.fetch(input, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}
