/**
 * The client side of POST /v3/maintenance/snapshot: reads the gateway's `{"result":{"blob":…}}`
 * lines (etcd's wire shape) and writes the decoded blobs to a file. An in-stream `{"error":…}`
 * line or an HTTP error status is thrown with the server's message.
 */
import http from 'node:http';
import https from 'node:https';
import type { ClientTlsOptions } from '../client/node.ts';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';

export interface DownloadOptions {
  /** The auth token (a server with auth on gives snapshots to the root role only, as etcd). */
  token?: string;
  /** For an https:// endpoint: CA, client certificate, verification (the CLI's TLS flags). */
  tls?: ClientTlsOptions;
}

export async function downloadSnapshot(endpoint: string, file: string, o: DownloadOptions = {}): Promise<number> {
  const url = new URL('/v3/maintenance/snapshot', endpoint);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.token !== undefined) headers.authorization = o.token;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = url.protocol === 'https:' ? https.request(url, { method: 'POST', headers, ...o.tls }, resolve) : http.request(url, { method: 'POST', headers }, resolve);
    req.on('error', (err) => reject(new Error(`cannot reach ${endpoint}: ${err.message}`)));
    req.end('{}');
  });
  if (res.statusCode !== 200) {
    let text = '';
    for await (const c of res) text += c;
    let message = text;
    try {
      // A unary error `{"message"}`, or a refusal in the stream's error shape `{"error":{"message"}}`.
      const parsed = JSON.parse(text) as { message?: string; error?: { message?: string } };
      message = parsed.message ?? parsed.error?.message ?? text;
    } catch {
      // not JSON: show it as it came
    }
    throw new Error(`${endpoint} answered ${res.statusCode}: ${message}`);
  }
  const fh = await open(file, 'wx');
  let bytes = 0;
  let last: { remaining_bytes?: string } | undefined;
  try {
    for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      const msg = JSON.parse(line) as { result?: { blob?: string; remaining_bytes?: string }; error?: { message?: string } };
      if (msg.error) throw new Error(`snapshot failed on the server: ${msg.error.message ?? JSON.stringify(msg.error)}`);
      const blob = Buffer.from(msg.result?.blob ?? '', 'base64');
      await fh.write(blob);
      bytes += blob.length;
      last = msg.result;
    }
    if (!last || (last.remaining_bytes ?? '0') !== '0') throw new Error(`the stream from ${endpoint} ended early (${bytes} bytes received)`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return bytes;
}
