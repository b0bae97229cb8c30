/**
 * POST /v3/maintenance/snapshot: a consistent point-in-time copy of the store, streamed as etcd's
 * gateway streams Maintenance.Snapshot — `{"result":{"remaining_bytes":"N","blob":"…"}}` lines of
 * 32 KiB blobs (etcd's chunk), remaining_bytes counting what follows the line and omitted at 0,
 * as the gateway omits defaults (no header: etcd 3.4 sends none). The blobs concatenated are a
 * watchkv snapshot file (src/snapshot/snapshot-format.ts), checksum included.
 *
 * The copy is first written to a temporary file, then sent: the store's view (a LevelDB snapshot
 * pinning old tables) is released as fast as the disk allows, not as slowly as the client reads,
 * and remaining_bytes is exact. Writes continue throughout.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import { errorBody, mapError, streamErrorBody } from '../error-map.ts';
import { parseJsonObject } from '../json-read.ts';
import { kvError } from '../../errors.ts';
import { writeSnapshotFile } from '../../snapshot/snapshot-writer.ts';

/** bytes per blob, etcd's snapshotSendBufferSize. */
const BLOB_BYTES = 32 * 1024;

const STREAM_HEADERS = {
  'content-type': 'application/json',
  'grpc-metadata-content-type': 'application/grpc',
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'access-control-allow-headers': 'accept, content-type, authorization',
};

export function snapshotRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/v3/maintenance/snapshot', async (req, reply) => {
    parseJsonObject(typeof req.body === 'string' ? req.body : ''); // a malformed body is a 400, as etcd
    if (!ctx.serving) throw kvError('ERR_STOPPED');
    if (!ctx.snapshots) throw kvError('ERR_UNAVAILABLE', 'snapshots are not available on this server');
    const dir = await mkdtemp(join(tmpdir(), 'watchkv-snapshot-'));
    const file = join(dir, 'snapshot.wkv');
    try {
      const written = await writeSnapshotFile(ctx.snapshots, file);
      req.log.info({ revision: written.revision, bytes: written.bytes, records: written.records }, 'snapshot taken');
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, STREAM_HEADERS);
      const fh = await open(file, 'r');
      try {
        const chunk = Buffer.allocUnsafe(BLOB_BYTES);
        let sent = 0;
        while (sent < written.bytes && !res.destroyed) {
          const { bytesRead } = await fh.read(chunk, 0, BLOB_BYTES, sent);
          if (bytesRead === 0) throw new Error(`snapshot file shrank at byte ${sent}`);
          sent += bytesRead;
          const remaining = written.bytes - sent;
          const line = `{"result":{${remaining > 0 ? `"remaining_bytes":"${remaining}",` : ''}"blob":"${chunk.toString('base64', 0, bytesRead)}"}}\n`;
          if (!res.write(line)) await new Promise<void>((resolve) => (res.once('drain', resolve), res.once('close', resolve)));
        }
      } catch (err) {
        if (!res.destroyed) res.write(streamErrorBody(mapError(err)) + '\n');
        req.log.error({ err }, 'snapshot stream failed');
      } finally {
        await fh.close();
        res.end();
      }
    } catch (err) {
      if (!reply.sent && !reply.raw.headersSent) throw err;
      const m = mapError(err);
      if (!reply.raw.headersSent) reply.raw.writeHead(m.httpStatus, { 'content-type': 'application/json' }).end(errorBody(m));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
