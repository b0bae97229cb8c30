/**
 * The JSON gateway's /v3/maintenance/* unary endpoints, as etcd 3.4's gateway maps them:
 * status, alarm, defragment, hash (Maintenance.Hash; the gateway has no HashKV route) and
 * transfer-leadership (MoveLeader). Snapshot streams and lives in maintenance-snapshot.ts.
 * While auth is on, status needs nothing (as etcd 3.4), alarm needs root to raise or disarm
 * (auth-check.ts alarmAccess), and the others fall to the root-only default
 * (security/request-auth.ts), as etcd asks root for defragment and the hashes.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import * as json from '../json.ts';
import { readEnum, readUint64 } from '../json-read.ts';
import { maintenance } from '../maintenance.ts';
import { alarmAccess } from '../../auth/auth-check.ts';
import { allow } from '../security/request-auth.ts';
import { body, send, VERSION } from './kv.ts';

const ALARM_ACTIONS = ['GET', 'ACTIVATE', 'DEACTIVATE'] as const;
const ALARM_TYPES = ['NONE', 'NOSPACE', 'CORRUPT'] as const;

export function maintenanceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { kv, identity: id } = ctx;
  const m = maintenance(kv, id);
  app.post('/v3/maintenance/status', async (req, reply) => {
    body(req.body); // still reject a malformed body, as etcd does
    // No credential looked at, as etcd 3.4 (request-auth.ts PUBLIC): monitors read this unsigned.
    const size = await kv.dbSize();
    const errors = await m.alarmErrors();
    const rev = kv.currentRevision();
    const header = json.encodeHeader(id, rev);
    const errorList = errors.length === 0 ? '' : `,"errors":${JSON.stringify(errors)}`;
    // No raft log: the raft indexes are the current revision, as over gRPC (maintenance-service.ts).
    return send(
      reply,
      `{"header":${header},"version":"${VERSION}","dbSize":"${size}","leader":"${id.memberId}","raftIndex":"${rev}","raftTerm":"${id.raftTerm}","raftAppliedIndex":"${rev}"${errorList},"dbSizeInUse":"${size}"}`,
    );
  });
  // As etcd 3.4, the answer has no header; fields at their default (member 0, alarm NONE) are left out.
  app.post('/v3/maintenance/alarm', async (req, reply) => {
    const b = body(req.body);
    const action = readEnum(b, 'action', ALARM_ACTIONS, 'etcdserverpb.AlarmRequest_AlarmAction') ?? 'GET';
    const alarm = readEnum(b, 'alarm', ALARM_TYPES, 'etcdserverpb.AlarmType') ?? 'NONE';
    const access = alarmAccess(action);
    if (access) allow(ctx, req, access);
    const alarms = await m.alarm({ action, memberId: readUint64(b, 'memberID'), alarm });
    if (alarms.length === 0) return send(reply, '{}');
    const member = (a: { memberId: bigint; alarm: string }): string =>
      [a.memberId === 0n ? '' : `"memberID":"${a.memberId}"`, a.alarm === 'NONE' ? '' : `"alarm":"${a.alarm}"`].filter(Boolean).join(',');
    return send(reply, `{"alarms":[${alarms.map((a) => `{${member(a)}}`).join(',')}]}`);
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
