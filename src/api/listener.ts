/**
 * One port for both APIs, as etcd serves gRPC and its HTTP gateway on one listener: a plain TCP
 * server reads the first bytes of each connection and hands the connection on.
 *
 * - The HTTP/2 client connection preface (RFC 9113 §3.4: `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`,
 *   which no HTTP/1.x request can start with) → gRPC: watchkv's own HTTP/2 layer (src/api/h2/,
 *   `h2`), or grpc-js's connection injector when that layer is off or calls may carry a client
 *   certificate; requests that are not gRPC come back to the HTTP routes (fast-unary.ts `plain`).
 * - Anything else → the HTTP/1.1 server (fastify's node:http server, WebSocket upgrades
 *   included), by emitting 'connection' on it as its own listener would.
 *
 * The bytes read to decide are put back (socket.unshift) before the hand-over, so each server
 * reads the connection from its first byte. An HTTP/2 connection is first held until its first
 * request, whose `:authority` may need mending for Node's HTTP/2 layer (h2-first-request.ts).
 *
 * With TLS (an https:// listen URL) every connection is a TLS handshake first: ALPN `h2` → gRPC,
 * anything else (`http/1.1`, no ALPN) → the same preface check on the decrypted stream. A client
 * speaking plain HTTP to the TLS port gets Go's (so etcd's) answer, `400 Client sent an HTTP
 * request to an HTTPS server.`, instead of a silent reset. With client-certificate auth the
 * handshake itself refuses a client without a certificate from the trusted CA.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Server as HttpServer } from 'node:http';
import { DEFAULTS } from '../config.ts';
import { holdFirstRequest } from './h2-first-request.ts';
import { PREFACE } from './h2/frames.ts';
import type { TlsMaterial, TlsSource } from './security/tls-files.ts';

/** ms: how often a draining listener closes the HTTP/1.1 connections that became idle. */
const DRAIN_POLL_MS = 20;

export interface ListenTargets {
  /** The HTTP/1.1 server (never listening itself). */
  http: HttpServer;
  /** Takes an HTTP/2 (gRPC) connection. */
  grpc(socket: net.Socket): void;
  /**
   * Takes an HTTP/2 connection (h2c, or TLS without client-certificate auth) and the bytes
   * already read from it, when watchkv's own framing layer is on (src/api/h2/); else `grpc` does.
   */
  h2?: (socket: net.Socket, head: Buffer) => void;
}

/** TLS for the shared port. */
export interface ListenTls {
  /** Certificate, key and CA bundle; asked again before each handshake (rotated files apply to new connections). */
  source: TlsSource;
  /** Require (and verify) a client certificate chaining to the CA bundle. */
  clientCertAuth: boolean;
}

export interface SharedListener {
  /** e.g. http://127.0.0.1:2379 */
  url: string;
  /** Stops accepting; connections still deciding are dropped. Handed-over ones belong to their server. */
  stopAccepting(): void;
  /**
   * Resolves once every connection handed to the HTTP/1.1 server has closed: idle keep-alive
   * connections are closed at once, busy ones as soon as their request is answered. (The HTTP
   * server never listened itself, so its own close() cannot wait for them.)
   */
  drainHttp(): Promise<void>;
  /** Destroys every connection this listener accepted (after the servers' graceful close). */
  destroyAll(): void;
}

/** 'h2' when `head` starts with the HTTP/2 preface, 'http1' when it cannot, undefined while unsure. */
export function classify(head: Buffer): 'h2' | 'http1' | undefined {
  const n = Math.min(head.length, PREFACE.length);
  if (head.subarray(0, n).compare(PREFACE, 0, n) !== 0) return 'http1';
  return n === PREFACE.length ? 'h2' : undefined;
}

export function listenShared(
  host: string,
  port: number,
  targets: ListenTargets,
  prefaceTimeoutMs = DEFAULTS.connectionPrefaceTimeoutMs,
  tlsOptions?: ListenTls,
): Promise<SharedListener> {
  const firstRequest = { timeoutMs: prefaceTimeoutMs, quietMs: DEFAULTS.h2FirstRequestQuietMs };
  const sockets = new Set<net.Socket>();
  const undecided = new Set<net.Socket>();
  const http1 = new Set<net.Socket>();
  /**
   * watchkv's own HTTP/2 layer takes the connection, unless it is off or the calls may be
   * identified by a client certificate, which only grpc-js (over node:http2) reads.
   */
  const ownFraming = (socket: net.Socket): boolean => targets.h2 !== undefined && !(socket instanceof tls.TLSSocket && tlsOptions?.clientCertAuth);
  /** Reads the (decrypted) stream's first bytes and hands it to gRPC or HTTP/1.1. */
  const dispatch = (socket: net.Socket): void => {
    socket.once('close', () => undecided.delete(socket));
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), prefaceTimeoutMs);
    undecided.add(socket);
    timer.unref();
    const onError = (): void => {
      clearTimeout(timer);
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const kind = classify(head);
      if (kind === undefined) return;
      clearTimeout(timer);
      undecided.delete(socket);
      socket.pause();
      socket.off('data', onData);
      socket.off('error', onError);
      if (kind === 'h2' && ownFraming(socket)) targets.h2!(socket, head);
      else if (kind === 'h2') holdFirstRequest(socket, head, firstRequest, targets.grpc);
      else {
        socket.unshift(head);
        http1.add(socket);
        socket.once('close', () => http1.delete(socket));
        targets.http.emit('connection', socket);
        // node:http reads the socket's handle directly from here on; the bytes put back wait in
        // the stream's buffer and reach its parser through 'data' once the stream flows again.
        socket.resume();
      }
    };
    socket.on('data', onData);
    socket.on('error', onError);
  };
  const secure =
    tlsOptions &&
    tlsServer(tlsOptions, prefaceTimeoutMs, (s) => {
      if (s.alpnProtocol === 'h2' && ownFraming(s)) targets.h2!(s, Buffer.alloc(0));
      else if (s.alpnProtocol === 'h2') holdFirstRequest(s, Buffer.alloc(0), firstRequest, targets.grpc);
      else dispatch(s);
    });
  // With TLS a connection waits, unread (pauseOnConnect), until the certificate files have been
  // looked at, so the handshake uses what is on disk now; tlsServer builds the context.
  const server = net.createServer({ noDelay: true, pauseOnConnect: secure !== undefined }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (secure) void secure.handshake(socket);
    else dispatch(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const a = server.address() as net.AddressInfo;
      const url = `${secure ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
      resolve({
        url,
        stopAccepting: () => {
          server.close();
          for (const s of undecided) s.destroy();
        },
        drainHttp: async () => {
          while (http1.size > 0) {
            targets.http.closeIdleConnections();
            await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
          }
        },
        destroyAll: () => {
          for (const s of sockets) s.destroy();
        },
      });
    });
  });
}

/**
 * A TLS server that never listens: the shared listener hands it raw connections through
 * `handshake`, which first brings its context up to date with the certificate files.
 */
function tlsServer(o: ListenTls, handshakeTimeoutMs: number, onSecure: (s: tls.TLSSocket) => void): { handshake(socket: net.Socket): Promise<void> } {
  let applied: TlsMaterial | undefined;
  const server = tls.createServer({
    requestCert: o.clientCertAuth,
    rejectUnauthorized: o.clientCertAuth,
    ALPNProtocols: ['h2', 'http/1.1'],
    handshakeTimeout: handshakeTimeoutMs,
  });
  server.on('secureConnection', (s) => {
    s.setNoDelay(true);
    onSecure(s);
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, s) => {
    // Plain HTTP on the TLS port: say so in plain HTTP, as Go's server (and so etcd) does.
    const raw = (s as unknown as { _parent?: net.Socket })._parent;
    if (err.code === 'ERR_SSL_HTTP_REQUEST' && raw && !raw.destroyed && raw.writable) {
      raw.end('HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
      return;
    }
    s.destroy();
  });
  return {
    handshake: async (socket) => {
      let material: TlsMaterial;
      try {
        material = await o.source.fresh();
      } catch {
        socket.destroy();
        return;
      }
      if (socket.destroyed) return;
      if (material !== applied) {
        server.setSecureContext({ cert: material.cert, key: material.key, ca: material.ca });
        applied = material;
      }
      server.emit('connection', socket);
    },
  };
}
