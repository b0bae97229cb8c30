/**
 * gRPC unary calls straight over node:http2 (no grpc-js channel, resolver, balancer or filter
 * stack): the harness's leanest client for the put and range rows, the same for both servers.
 * A call is one HTTP/2 stream: request headers, one length-prefixed message, end of stream; the
 * answer is headers, one message, trailers with grpc-status.
 */
import * as http2 from 'node:http2';

const REQUEST_HEADERS = { ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' };

export class GrpcH2Conn {
  private readonly session: http2.ClientHttp2Session;

  constructor(url: string) {
    this.session = http2.connect(url, { settings: { initialWindowSize: 4 << 20 } });
    this.session.on('error', () => {});
  }

  unary(path: string, request: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const s = this.session.request({ ...REQUEST_HEADERS, ':path': path });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message: string | undefined;
      s.on('response', (h) => {
        // A trailers-only answer (an error) carries grpc-status in the headers.
        if (h['grpc-status'] !== undefined) [status, message] = [String(h['grpc-status']), String(h['grpc-message'] ?? '')];
      });
      s.on('trailers', (t) => {
        status = String(t['grpc-status']);
        message = String(t['grpc-message'] ?? '');
      });
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', reject);
      s.on('end', () => {
        if (status !== '0') return reject(new Error(`grpc-status ${status}: ${decodeURIComponent(message ?? '')}`));
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        resolve(body.subarray(5));
      });
      const frame = Buffer.allocUnsafe(5 + request.length);
      frame[0] = 0;
      frame.writeUInt32BE(request.length, 1);
      request.copy(frame, 5);
      s.end(frame);
    });
  }

  close(): void {
    this.session.close();
  }
}
