/**
 * The Node entry of the SDK: the universal client, with the `ws` package as its WebSocket when
 * the runtime has no global one (Node 20). Browsers get index.ts (package.json "exports"
 * conditions), which imports nothing from Node.
 */
import WebSocket from 'ws';
import { WatchKvClient as UniversalClient, type ClientOptions } from './client.ts';
import { globalWebSocket, type WebSocketConstructor } from './websocket.ts';

export * from './index.ts';

const NodeWebSocket: WebSocketConstructor = globalWebSocket() ?? (WebSocket as unknown as WebSocketConstructor);

/** The client with a WebSocket supplied for Node. */
export class WatchKvClient extends UniversalClient {
  constructor(options: ClientOptions) {
    super({ WebSocket: NodeWebSocket, ...options });
  }
}
