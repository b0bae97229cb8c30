/**
 * A received WebSocket message as text: `ws` hands over a Buffer, an array of Buffers (a
 * fragmented message) or an ArrayBuffer. Every server-side WebSocket route reads its frames so.
 */
export function frameText(data: Buffer | ArrayBuffer | Buffer[]): string {
  return Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
}
