/**
 * The JSON gateway's /v3/maintenance/* unary endpoints, as etcd 3.4's gateway maps them:
 * status, alarm, defragment, hash (Maintenance.Hash; the gateway has no HashKV route) and
 * transfer-leadership (MoveLeader). Snapshot streams and lives in maintenance-snapshot.ts.
 * Status needs a known user while auth is on; the others fall to the root-only default
 * (security/request-auth.ts), as etcd asks root for defragment and the hashes.
 */
import type { FastifyInstance } from 'fastify';
import { kvError } from '../../errors.ts';
import type { ApiContext } from '../context.ts';
import * as json from '../json.ts';
import { readEnum, readUint64 } from '../json-read.ts';
import { maintenance } from '../maintenance.ts';
import { allow } from '../security/request-auth.ts';
import { body, send, VERSION } from './kv.ts';

const ALARM_ACTIONS = ['GET', 'ACTIVATE', 'DEACTIVATE'] as const;

export function maintenanceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { kv, identity: id } = ctx;
  const m = maintenance(kv, id);
  app.post('/v3/maintenance/status', async (req, reply) => {
    body(req.body); // still reject a malformed body, as etcd does
    allow(ctx, req, { kind: 'user' });
    const size = await kv.dbSize();
    const rev = kv.currentRevision();
    const header = json.encodeHeader(id, rev);
    // No raft log: the raft indexes are the current revision, as over gRPC (maintenance-service.ts).
    return send(
      reply,
      `{"header":${header},"version":"${VERSION}","dbSize":"${size}","leader":"${id.memberId}","raftIndex":"${rev}","raftTerm":"${id.raftTerm}","raftAppliedIndex":"${rev}","dbSizeInUse":"${size}"}`,
    );
  });
  // No alarm is ever raised, so the list is empty; as etcd 3.4, the answer has no header.
  app.post('/v3/maintenance/alarm', async (req, reply) => {
    const action = readEnum(body(req.body), 'action', ALARM_ACTIONS, 'etcdserverpb.AlarmRequest_AlarmAction');
    if (action === 'ACTIVATE') throw kvError('ERR_NOT_SUPPORTED', 'watchkv: alarm activate is not implemented');
    return send(reply, '{}');
  });
  app.post('/v3/maintenance/defragment', async (req, reply) => {
    body(req.body);
    await m.defragment();
    return send(reply, '{}');
  });
  app.post('/v3/maintenance/hash', async (req, reply) => {
    body(req.body);
    const rev = kv.currentRevision();
    const hash = await m.hash();
    return send(reply, `{"header":${json.encodeHeader(id, rev)},"hash":${hash}}`);
  });
  app.post('/v3/maintenance/transfer-leadership', async (req, reply) => {
    m.moveLeader(readUint64(body(req.body), 'targetID'));
    return send(reply, '{}');
  });
}
