/**
 * The few WebSocket members the client uses: the WHATWG API that browsers have and that the `ws`
 * package also implements (Node 20 has no global WebSocket; the Node entry supplies `ws`).
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** `protocols`: the token travels as the subprotocols `Bearer, <token>` (browsers cannot set headers). */
export type WebSocketConstructor = new (url: string, protocols?: string[]) => WebSocketLike;

export const WS_OPEN = 1;

/** The global WebSocket, when the runtime has one (browsers, Node 22+). */
export function globalWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}

/** http://h:p → ws://h:p (https → wss). */
export function wsUrl(endpoint: string, path: string): string {
  return endpoint.replace(/^http/, 'ws') + path;
}

/** A frame's text: a string in browsers and ws's EventTarget API; bytes otherwise. */
export function frameText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(data as Uint8Array);
  return String(data);
}
