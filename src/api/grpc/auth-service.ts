/**
 * etcdserverpb.Auth over the same auth store as the gateway's /v3/auth routes, so etcdctl's
 * `auth enable|disable`, `user ...`, `role ...` and `--user` (Authenticate) work. Every method
 * but Authenticate needs the root role while auth is enabled; the token is the `token` metadata
 * (grpc-auth.ts). Answers and errors are etcd 3.4's (the one error map).
 */
import type { ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../context.ts';
import type { Msg } from './decode.ts';
import { headerObject } from './header.ts';
import { unary, type GrpcLog } from './unary.ts';
import { grpcAuthInfo } from './grpc-auth.ts';
import { authorize } from '../../auth/auth-check.ts';
import { PERM_TYPES, type PermType } from '../../auth/permissions.ts';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const bytes = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.alloc(0));

export function authService(ctx: ApiContext, log: GrpcLog): UntypedServiceImplementation {
  const { auth } = ctx;
  const header = () => headerObject(ctx.identity, ctx.kv.currentRevision());
  /** A root-only method: check, run, answer with the header and `extra`. */
  const admin = (method: string, run: (m: Msg) => Promise<object | void> | object | void) =>
    unary(log, method, async (m: Msg, call: ServerUnaryCall<Msg, unknown>) => {
      const info = grpcAuthInfo(ctx, call);
      authorize(auth, info, { kind: 'admin' });
      return { header: header(), ...((await run(m)) ?? {}) };
    });
  return {
    AuthEnable: admin('AuthEnable', () => auth.enable()),
    AuthDisable: admin('AuthDisable', () => auth.disable()),
    Authenticate: unary(log, 'Authenticate', async (m) => ({ header: header(), token: await auth.authenticate(str(m.name), str(m.password)) })),
    UserAdd: admin('UserAdd', (m) => auth.userAdd(str(m.name), str(m.password), (m.options as Msg | null)?.no_password === true)),
    UserGet: admin('UserGet', (m) => ({ roles: auth.userGet(str(m.name)).roles })),
    UserList: admin('UserList', () => ({ users: auth.userList() })),
    UserDelete: admin('UserDelete', (m) => auth.userDelete(str(m.name))),
    UserChangePassword: admin('UserChangePassword', (m) => auth.userChangePassword(str(m.name), str(m.password))),
    UserGrantRole: admin('UserGrantRole', (m) => auth.userGrantRole(str(m.user), str(m.role))),
    UserRevokeRole: admin('UserRevokeRole', (m) => auth.userRevokeRole(str(m.name), str(m.role))),
    RoleAdd: admin('RoleAdd', (m) => auth.roleAdd(str(m.name))),
    RoleGet: admin('RoleGet', (m) => ({
      perm: auth.roleGet(str(m.role)).perms.map((p) => ({ permType: p.permType, key: p.key, range_end: p.rangeEnd })),
    })),
    RoleList: admin('RoleList', () => ({ roles: auth.roleList() })),
    RoleDelete: admin('RoleDelete', (m) => auth.roleDelete(str(m.role))),
    RoleGrantPermission: admin('RoleGrantPermission', (m) => {
      const p = (m.perm as Msg | null) ?? {};
      const t = str(p.permType);
      return auth.roleGrantPermission(str(m.name), {
        permType: (PERM_TYPES as readonly string[]).includes(t) ? (t as PermType) : 'READ',
        key: bytes(p.key),
        rangeEnd: bytes(p.range_end),
      });
    }),
    RoleRevokePermission: admin('RoleRevokePermission', (m) => auth.roleRevokePermission(str(m.role), bytes(m.key), bytes(m.range_end))),
  };
}
