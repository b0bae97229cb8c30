/**
 * The Node entry of the SDK: the universal client, with the `ws` package as its WebSocket when
 * the runtime has no global one (Node 20). Browsers get index.ts (package.json "exports"
 * conditions), which imports nothing from Node.
 */
import { createRequire } from 'node:module';
import { WatchKvClient as UniversalClient, type ClientOptions } from './client.ts';
import { globalWebSocket, type WebSocketConstructor } from './websocket.ts';

export * from './index.ts';

const require = createRequire(import.meta.url);
let ws: WebSocketConstructor | undefined;

/**
 * `ws` is loaded on the first socket, not at import: it is ~45 ms of a CLI command's start-up,
 * and most commands (get, put, lease, ...) never open a WebSocket.
 */
const LazyWs = function (url: string, protocols?: string[]) {
  ws ??= require('ws') as WebSocketConstructor;
  return protocols ? new ws(url, protocols) : new ws(url);
} as unknown as WebSocketConstructor;

const NodeWebSocket: WebSocketConstructor = globalWebSocket() ?? LazyWs;

/** The client with a WebSocket supplied for Node. */
export class WatchKvClient extends UniversalClient {
  constructor(options: ClientOptions) {
    super({ WebSocket: NodeWebSocket, ...options });
  }
}
