/**
 * etcd's auth gateway: POST /v3/auth/{enable,disable,authenticate}, /v3/auth/user/{add,get,
 * list,delete,changepw,grant,revoke} and /v3/auth/role/{add,get,list,delete,grant,revoke}, with
 * etcd 3.4's field names and answers. Every route but authenticate needs the root role while auth
 * is enabled (security/request-auth.ts does that before the handler). The header revision is
 * the key-value revision, as etcd's.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import { field, parseJsonObject, readBool, readBytes, readEnum, readObject, type JsonObject } from '../json-read.ts';
import { encodeHeader } from '../json.ts';
import { sendJson } from '../send-json.ts';
import { kvError } from '../../errors.ts';
import { PERM_TYPES, type Permission } from '../../auth/permissions.ts';

function body(raw: unknown): JsonObject {
  return parseJsonObject(typeof raw === 'string' ? raw : raw === undefined ? '' : String(raw));
}

function str(o: JsonObject, name: string): string {
  const v = field(o, name);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw kvError('ERR_INVALID_ARGUMENT', `${name}: expected a string, got ${JSON.stringify(v).slice(0, 40)}`);
  return v;
}

const b64 = (b: Buffer): string => b.toString('base64');

/** A Permission as etcd's gateway prints it: READ (0) and empty range_end are left out. */
export function encodePermission(p: Permission): string {
  const parts: string[] = [];
  if (p.permType !== 'READ') parts.push(`"permType":"${p.permType}"`);
  if (p.key.length > 0) parts.push(`"key":"${b64(p.key)}"`);
  if (p.rangeEnd.length > 0) parts.push(`"range_end":"${b64(p.rangeEnd)}"`);
  return `{${parts.join(',')}}`;
}

const list = (name: string, items: readonly string[]): string => (items.length === 0 ? '' : `,"${name}":${JSON.stringify(items)}`);

export function authRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { auth } = ctx;
  const head = (): string => `{"header":${encodeHeader(ctx.identity, ctx.kv.currentRevision())}`;
  const post = (path: string, handle: (o: JsonObject) => Promise<string | void> | string | void): void => {
    app.post(`/v3/auth/${path}`, async (req, reply) => {
      const extra = await handle(body(req.body));
      return sendJson(reply, 200, `${head()}${extra ?? ''}}`);
    });
  };

  post('enable', () => auth.enable());
  post('disable', () => auth.disable());
  post('authenticate', async (o) => `,"token":${JSON.stringify(await auth.authenticate(str(o, 'name'), str(o, 'password')))}`);

  post('user/add', (o) => auth.userAdd(str(o, 'name'), str(o, 'password'), readBool(readObject(o, 'options') ?? {}, 'no_password')));
  post('user/get', (o) => list('roles', auth.userGet(str(o, 'name')).roles));
  post('user/list', () => list('users', auth.userList()));
  post('user/delete', (o) => auth.userDelete(str(o, 'name')));
  post('user/changepw', (o) => auth.userChangePassword(str(o, 'name'), str(o, 'password')));
  post('user/grant', (o) => auth.userGrantRole(str(o, 'user'), str(o, 'role')));
  post('user/revoke', (o) => auth.userRevokeRole(str(o, 'name'), str(o, 'role')));

  post('role/add', (o) => auth.roleAdd(str(o, 'name')));
  post('role/get', (o) => {
    const perms = auth.roleGet(str(o, 'role')).perms;
    return perms.length === 0 ? '' : `,"perm":[${perms.map(encodePermission).join(',')}]`;
  });
  post('role/list', () => list('roles', auth.roleList()));
  post('role/delete', (o) => auth.roleDelete(str(o, 'role')));
  post('role/grant', (o) => {
    const p = readObject(o, 'perm') ?? {};
    return auth.roleGrantPermission(str(o, 'name'), {
      permType: readEnum(p, 'permType', PERM_TYPES, 'authpb.Permission_Type') ?? 'READ',
      key: readBytes(p, 'key') ?? Buffer.alloc(0),
      rangeEnd: readBytes(p, 'range_end') ?? Buffer.alloc(0),
    });
  });
  post('role/revoke', (o) => auth.roleRevokePermission(str(o, 'role'), readBytes(o, 'key') ?? Buffer.alloc(0), readBytes(o, 'range_end') ?? Buffer.alloc(0)));
}
