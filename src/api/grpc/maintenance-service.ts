/**
 * etcdserverpb.Maintenance: Status as the HTTP gateway answers it, alarms as watchkv has none,
 * Snapshot as a stream of blobs of a watchkv snapshot file (src/snapshot/snapshot-chunks.ts), the
 * rest UNIMPLEMENTED (defragment, hashes and leader moves need storage or raft features watchkv
 * does not have yet).
 *
 * Status: watchkv has no raft log, so raftIndex and raftAppliedIndex report the store's current
 * revision (which, like a raft index, grows with every write); raftTerm is the fixed term.
 */
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { grpcStatus } from '../error-map.ts';
import { kvError } from '../../errors.ts';
import { snapshotChunks } from '../../snapshot/snapshot-chunks.ts';
import type { ApiContext } from '../context.ts';
import { VERSION } from '../routes/kv.ts';
import { headerObject } from './header.ts';
import { unary, unimplemented, type GrpcLog } from './unary.ts';
import type { Msg } from './decode.ts';
import { grpcAuthInfo } from './grpc-auth.ts';
import { authorize } from '../../auth/auth-check.ts';

export function maintenanceService(ctx: ApiContext, log: GrpcLog): UntypedServiceImplementation {
  const { identity: id, kv } = ctx;
  return {
    Status: unary(log, 'Status', async (_m, call) => {
      authorize(ctx.auth, grpcAuthInfo(ctx, call), { kind: 'user' });
      const size = await kv.dbSize();
      const rev = kv.currentRevision();
      return {
        header: headerObject(id, rev),
        version: VERSION,
        dbSize: String(size),
        leader: id.memberId,
        raftIndex: String(rev),
        raftTerm: id.raftTerm,
        raftAppliedIndex: String(rev),
        errors: [],
        dbSizeInUse: String(size),
        isLearner: false,
      };
    }),
    // No alarm is ever raised (a full disk fails writes with ERR_NO_SPACE instead), so the list
    // is empty and deactivating is a no-op; raising one by hand is not supported.
    Alarm: (call: ServerUnaryCall<Msg, object>, callback: sendUnaryData<object>) => {
      if (call.request.action === 'ACTIVATE') return activate(call, callback);
      callback(null, { header: headerObject(id, kv.currentRevision()), alarms: [] });
    },
    Defragment: unimplemented('defragment'),
    Hash: unimplemented('hash'),
    HashKV: unimplemented('hashkv'),
    Snapshot: (call: ServerWritableStream<Msg, object>) => {
      sendSnapshot(ctx, call).catch((err) => {
        const st = grpcStatus(err);
        if (st.unexpected) log.error({ err, method: 'Snapshot' }, 'gRPC request failed');
        if (!call.cancelled) call.emit('error', { code: st.code, details: st.details });
      });
    },
    MoveLeader: unimplemented('move-leader'),
  };
}

const activate = unimplemented('alarm activate') as (call: unknown, callback: unknown) => void;

/**
 * One SnapshotResponse per blob, remaining_bytes counting what follows it. As etcd 3.4, no header
 * (3.5 added one). HTTP/2 flow control paces the reads: a blob is read only once the last one
 * was taken by the transport.
 */
async function sendSnapshot(ctx: ApiContext, call: ServerWritableStream<Msg, object>): Promise<void> {
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
