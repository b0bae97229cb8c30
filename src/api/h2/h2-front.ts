/**
 * watchkv's own HTTP/2 layer: each connection is framed here (h2-connection.ts); each stream is
 * answered by the direct gRPC paths when they serve it, and otherwise passed to node:http2 +
 * grpc-js unchanged (h2-proxy.ts). It takes h2c and TLS connections alike, except TLS with
 * client-certificate auth (listener.ts), which stays on node:http2 where grpc-js reads the peer.
 *
 * Shutdown: every connection gets GOAWAY (no new streams), open streams get `graceMs` to finish,
 * then the sockets are destroyed.
 */
import type net from 'node:net';
import type * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { H2Connection } from './h2-connection.ts';
import { H2Proxy } from './h2-proxy.ts';
import type { H2Stream } from './h2-stream.ts';

export interface H2FrontOptions {
  /** Answers the stream directly and returns true, or returns false to pass it to node:http2. */
  direct(stream: H2Stream, headers: http2.IncomingHttpHeaders): boolean;
  /** Gives grpc-js the server end of an internal connection (its connection injector). */
  inject(socket: Duplex): void;
  /** Receive window per stream and per connection. */
  windowBytes: number;
  maxHeaderListBytes: number;
  /** Client stream cancels per second a connection may make (rapid-reset guard). */
  maxResetsPerSecond: number;
}

/** Header blocks above this are refused before decoding (a client out of bounds). */
const MAX_HEADER_BLOCK_BYTES = 1024 * 1024;
const DRAIN_POLL_MS = 20;

export class H2Front {
  private readonly connections = new Set<H2Connection>();
  private stopping = false;

  constructor(private readonly opts: H2FrontOptions) {}

  /** Takes a connection whose first bytes (`head`, the preface at least in part) were read. */
  accept(socket: net.Socket, head: Buffer): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    let proxy: H2Proxy | undefined;
    const conn: H2Connection = new H2Connection(socket, head, {
      windowBytes: this.opts.windowBytes,
      maxHeaderListBytes: this.opts.maxHeaderListBytes,
      maxHeaderBlockBytes: MAX_HEADER_BLOCK_BYTES,
      maxResetsPerSecond: this.opts.maxResetsPerSecond,
      onStream: (stream, headers, fields) => {
        if (this.opts.direct(stream, headers)) return;
        proxy ??= new H2Proxy(this.opts.inject, (s) => conn.releaseWindow(s));
        proxy.forward(stream, fields);
      },
      onClose: () => {
        this.connections.delete(conn);
        proxy?.close();
      },
    });
    this.connections.add(conn);
    socket.resume();
  }

  /** GOAWAY to every connection; resolves once they closed or `graceMs` passed (then destroys). */
  async close(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const c of this.connections) c.shutdown();
    const deadline = Date.now() + graceMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
    for (const c of this.connections) c.destroy();
  }
}
