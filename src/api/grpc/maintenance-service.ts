/**
 * etcdserverpb.Maintenance: Status as the HTTP gateway answers it, Alarm (list, raise, disarm),
 * Snapshot as a stream of blobs of a watchkv snapshot file (src/snapshot/snapshot-chunks.ts),
 * Defragment, Hash, HashKV and MoveLeader through ../maintenance.ts. As etcd 3.4, Snapshot,
 * Defragment and the hashes need the root role and Status needs nothing; watchkv also asks root of
 * MoveLeader and of raising or disarming an alarm (auth-check.ts alarmAccess).
 *
 * Status: watchkv has no raft log, so raftIndex and raftAppliedIndex report the store's current
 * revision (which, like a raft index, grows with every write); raftTerm is the fixed term.
 */
import type { ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { grpcStatus } from '../error-map.ts';
import { kvError } from '../../errors.ts';
import { snapshotChunks } from '../../snapshot/snapshot-chunks.ts';
import type { ApiContext } from '../context.ts';
import { VERSION } from '../routes/kv.ts';
import { headerObject } from './header.ts';
import { unary, type GrpcLog } from './unary.ts';
import { maintenance } from '../maintenance.ts';
import { decodeAlarmRequest, decodeHashKvRevision, int64, type Msg } from './decode.ts';
import { grpcAuthInfo } from './grpc-auth.ts';
import { alarmAccess, authorize, maintenanceAuth } from '../../auth/auth-check.ts';

export function maintenanceService(ctx: ApiContext, log: GrpcLog): UntypedServiceImplementation {
  const { identity: id, kv } = ctx;
  const m = maintenance(kv, id);
  const admin = (call: ServerUnaryCall<Msg, object>): void => authorize(ctx.auth, grpcAuthInfo(ctx, call), { kind: 'admin' });
  // Defragment, Hash, HashKV: etcd's Maintenance server's own root check and its wording.
  const maintenanceAdmin = (call: ServerUnaryCall<Msg, object>): void => maintenanceAuth(() => admin(call));
  return {
    // No credential looked at, as etcd 3.4: `etcdctl endpoint status` works unsigned.
    Status: unary(log, 'Status', async () => {
      const size = await kv.dbSize();
      const errors = await m.alarmErrors();
      const rev = kv.currentRevision();
      return {
        header: headerObject(id, rev),
        version: VERSION,
        dbSize: String(size),
        leader: id.memberId,
        raftIndex: String(rev),
        raftTerm: id.raftTerm,
        raftAppliedIndex: String(rev),
        errors,
        dbSizeInUse: String(size),
        isLearner: false,
      };
    }),
    // No header, as etcd 3.4 (its answer comes from the raft applier, which sets none). A token
    // given must be valid (etcd resolves it, and says so in its auth package's words).
    Alarm: unary(log, 'Alarm', async (req, call) => {
      const r = decodeAlarmRequest(req);
      const info = maintenanceAuth(() => grpcAuthInfo(ctx, call));
      const access = alarmAccess(r.action);
      if (access) authorize(ctx.auth, info, access);
      const alarms = await m.alarm(r);
      return { alarms: alarms.map((a) => ({ memberID: a.memberId.toString(), alarm: a.alarm })) };
    }),
    // Defragment and MoveLeader answer without a header, as etcd 3.4 does.
    Defragment: unary(log, 'Defragment', async (_m, call) => {
      maintenanceAdmin(call);
      await m.defragment();
      return {};
    }),
    Hash: unary(log, 'Hash', async (_m, call) => {
      maintenanceAdmin(call);
      const rev = kv.currentRevision();
      return { header: headerObject(id, rev), hash: await m.hash() };
    }),
    HashKV: unary(log, 'HashKV', async (req, call) => {
      maintenanceAdmin(call);
      const r = await m.hashKv(decodeHashKvRevision(req));
      return { header: headerObject(id, r.currentRevision), hash: r.hash, compact_revision: String(r.compactRevision) };
    }),
    MoveLeader: unary(log, 'MoveLeader', (req, call) => {
      admin(call);
      m.moveLeader(int64(req.targetID));
      return {};
    }),
    Snapshot: (call: ServerWritableStream<Msg, object>) => {
      sendSnapshot(ctx, call).catch((err) => {
        const st = grpcStatus(err);
        if (st.unexpected) log.error({ err, method: 'Snapshot' }, 'gRPC request failed');
        if (!call.cancelled) call.emit('error', { code: st.code, details: st.details });
      });
    },
  };
}

/**
 * One SnapshotResponse per blob, remaining_bytes counting what follows it. As etcd 3.4, no header
 * (3.5 added one). HTTP/2 flow control paces the reads: a blob is read only once the last one
 * was taken by the transport.
 */
async function sendSnapshot(ctx: ApiContext, call: ServerWritableStream<Msg, object>): Promise<void> {
  // The copy holds every key and the users' password hashes: root only, as etcd.
  maintenanceAuth(() => authorize(ctx.auth, grpcAuthInfo(ctx, call), { kind: 'admin' }));
  if (!ctx.serving) throw kvError('ERR_STOPPED');
  if (!ctx.snapshots) throw kvError('ERR_UNAVAILABLE', 'snapshots are not available on this server');
  const snap = await snapshotChunks(ctx.snapshots);
  try {
    for await (const { blob, remaining } of snap.blobs) {
      if (call.cancelled) break;
      if (!call.write({ remainingBytes: String(remaining), blob }) && !call.cancelled) {
        // Also 'close' and 'error': a client gone while we wait must not leave this waiting.
        await new Promise<void>((resolve) => {
          for (const ev of ['drain', 'cancelled', 'close', 'error', 'finish']) call.once(ev, () => resolve());
        });
      }
    }
  } finally {
    await snap.blobs.return();
  }
  if (!call.cancelled) call.end();
}
