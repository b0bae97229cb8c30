/**
 * Hands the streams watchkv's framing layer does not answer itself (every gRPC method but the
 * direct paths, and plain HTTP over HTTP/2) to node:http2 + grpc-js, so they behave exactly as
 * before: one internal HTTP/2 client session per client connection, over an in-memory socket
 * pair whose other end grpc-js takes through its connection injector.
 *
 * Per stream: the request's headers and body go in; the response's headers, body and trailers
 * come back; a reset on either side resets the other. Backpressure both ways: a response the
 * client's windows hold back pauses the internal stream (and so grpc-js's sending); an upload
 * grpc-js does not read yet keeps the client's stream window closed (H2Stream.holdWindow).
 */
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { duplexPair } from '../../lib/duplex-pair.ts';
import { mendAuthorityValue } from '../h2-authority.ts';
import { E } from './frames.ts';
import type { H2Stream } from './h2-stream.ts';

/** The internal session's receive window: what grpc-js may send ahead of the client reading it. */
const INTERNAL_WINDOW_BYTES = 1024 * 1024;

export class H2Proxy {
  private session: http2.ClientHttp2Session | undefined;

  constructor(
    /** Gives grpc-js (its connection injector) the server end of a new socket pair. */
    private readonly inject: (socket: Duplex) => void,
    /** The client stream may take its received bytes' window back. */
    private readonly releaseWindow: (stream: H2Stream) => void,
  ) {}

  forward(stream: H2Stream, fields: Array<[string, string]>): void {
    const session = this.open();
    const headers: http2.OutgoingHttpHeaders = {};
    for (const [name, raw] of fields) {
      // node:http2 refuses etcdctl's `http://host:port` authority, as on the other path (h2-authority.ts).
      const value = name === ':authority' ? mendAuthorityValue(raw) : raw;
      const prior = headers[name];
      if (prior === undefined) headers[name] = value;
      else headers[name] = Array.isArray(prior) ? [...prior, value] : [String(prior), value];
    }
    let req: http2.ClientHttp2Stream;
    try {
      req = session.request(headers, { endStream: stream.remoteEnded });
    } catch {
      stream.close(E.REFUSED_STREAM);
      return;
    }
    req.on('error', () => {});
    let trailers: http2.OutgoingHttpHeaders = {};
    stream.on('data', (chunk: Buffer) => {
      if (req.destroyed) return;
      if (!req.write(chunk) && !stream.holdWindow) {
        stream.holdWindow = true;
        req.once('drain', () => this.releaseWindow(stream));
      }
    });
    stream.on('end', () => {
      if (!req.destroyed) req.end();
    });
    stream.on('close', () => {
      if (stream.destroyed && !req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
    });
    stream.on('drain', () => req.resume());
    req.on('response', (h, flags) => {
      const out: http2.OutgoingHttpHeaders = { ...h };
      stream.respond(out, { endStream: (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0, waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers(trailers));
    });
    req.on('trailers', (t) => {
      trailers = { ...t };
    });
    req.on('data', (chunk: Buffer) => {
      if (!stream.write(chunk)) req.pause();
    });
    req.on('end', () => stream.end());
    req.on('close', () => {
      if (stream.closed || stream.ending) return;
      stream.close(req.rstCode && req.rstCode !== http2.constants.NGHTTP2_NO_ERROR ? req.rstCode : E.INTERNAL_ERROR);
    });
  }

  close(): void {
    this.session?.destroy();
    this.session = undefined;
  }

  private open(): http2.ClientHttp2Session {
    if (this.session && !this.session.destroyed && !this.session.closed) return this.session;
    const [client, server] = duplexPair();
    this.inject(server);
    const session = http2.connect('http://watchkv.internal', { createConnection: () => client, settings: { initialWindowSize: INTERNAL_WINDOW_BYTES } });
    session.on('error', () => {});
    session.on('connect', () => {
      if (!session.destroyed) session.setLocalWindowSize(INTERNAL_WINDOW_BYTES * 16);
    });
    this.session = session;
    return session;
  }
}
