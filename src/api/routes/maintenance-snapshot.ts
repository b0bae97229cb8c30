/**
 * POST /v3/maintenance/snapshot: a consistent point-in-time copy of the store, streamed as etcd's
 * gateway streams Maintenance.Snapshot — `{"result":{"remaining_bytes":"N","blob":"…"}}` lines of
 * 32 KiB blobs (etcd's chunk), remaining_bytes counting what follows the line and omitted at 0,
 * as the gateway omits defaults (no header: etcd 3.4 sends none). The blobs concatenated are a
 * watchkv snapshot file (src/snapshot/snapshot-format.ts), checksum included.
 * How the copy is taken and cut into blobs is src/snapshot/snapshot-chunks.ts; writes continue
 * throughout.
 */
import type { FastifyInstance } from 'fastify';
import { GATEWAY_STREAM_HEADERS } from '../gateway-stream-headers.ts';
import type { ApiContext } from '../context.ts';
import { mapError, streamErrorBody } from '../error-map.ts';
import { parseJsonObject } from '../json-read.ts';
import { kvError } from '../../errors.ts';
import { maintenanceAuth } from '../../auth/auth-check.ts';
import { allow } from '../security/request-auth.ts';
import { sendJson } from '../send-json.ts';
import { snapshotChunks } from '../../snapshot/snapshot-chunks.ts';

export function snapshotRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/v3/maintenance/snapshot', async (req, reply) => {
    parseJsonObject(typeof req.body === 'string' ? req.body : ''); // a malformed body is a 400, as etcd
    try {
      // The copy holds every key and the users' password hashes: root only, as etcd, which
      // refuses with its Maintenance server's wording in the stream's error shape (HTTP 500).
      maintenanceAuth(() => allow(ctx, req, { kind: 'admin' }));
    } catch (err) {
      const m = mapError(err);
      return sendJson(reply, m.httpStatus, streamErrorBody(m));
    }
    if (!ctx.serving) throw kvError('ERR_STOPPED');
    if (!ctx.snapshots) throw kvError('ERR_UNAVAILABLE', 'snapshots are not available on this server');
    const snap = await snapshotChunks(ctx.snapshots);
    const { written } = snap;
    req.log.info({ revision: written.revision, bytes: written.bytes, records: written.records }, 'snapshot taken');
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, GATEWAY_STREAM_HEADERS);
    try {
      for await (const { blob, remaining } of snap.blobs) {
        if (res.destroyed) break;
        // One message per write, so each is one HTTP chunk (what gateway clients read).
        const line = `{"result":{${remaining > 0 ? `"remaining_bytes":"${remaining}",` : ''}"blob":"${blob.toString('base64')}"}}\n`;
        if (!res.write(line)) await new Promise<void>((resolve) => (res.once('drain', resolve), res.once('close', resolve)));
      }
    } catch (err) {
      if (!res.destroyed) res.write(streamErrorBody(mapError(err)) + '\n');
      req.log.error({ err }, 'snapshot stream failed');
    } finally {
      await snap.blobs.return();
      res.end();
    }
  });
}
