/**
 * etcdserverpb.Maintenance: Status as the HTTP gateway answers it, alarms as watchkv has none,
 * the rest UNIMPLEMENTED (snapshot, defragment, hashes and leader moves need storage or raft
 * features watchkv does not have yet).
 *
 * Status: watchkv has no raft log, so raftIndex and raftAppliedIndex report the store's current
 * revision (which, like a raft index, grows with every write); raftTerm is the fixed term.
 */
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
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
    Snapshot: unimplemented('snapshot'),
    MoveLeader: unimplemented('move-leader'),
  };
}

const activate = unimplemented('alarm activate') as (call: unknown, callback: unknown) => void;
