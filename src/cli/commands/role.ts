/**
 * role add | get | list | delete | grant-permission | revoke-permission, printed as etcdctl
 * prints them ("Role app created", the KV Read / KV Write lists of `role get`, ...).
 */
import type { Command } from 'commander';
import { clientOf, formatOf } from '../context.ts';
import { UsageError } from '../exit-codes.ts';
import { out, printNames, table } from '../output.ts';
import { prefixRangeEnd, utf8, type KeySpan, type Permission, type PermissionType } from '../../client/node.ts';

/** One permission line of `role get`: the key, or [key, end) with "(prefix key)" when it is one. */
function permLine(p: Permission): string {
  if (p.rangeEnd === '') return `\t${p.key}`;
  const span = p.rangeEnd === '\0' ? `\t[${p.key}, <open ended>` : `\t[${p.key}, ${p.rangeEnd})`;
  return utf8(prefixRangeEnd(Buffer.from(p.key))) === p.rangeEnd ? `${span} (prefix ${p.key})` : span;
}

/** etcdctl's `role get` text: the role, then what it may read, then what it may write. */
export function printRole(name: string, perms: Permission[]): void {
  out(`Role ${name}`);
  out('KV Read:');
  for (const p of perms) if (p.type !== 'WRITE') out(permLine(p));
  out('KV Write:');
  for (const p of perms) if (p.type !== 'READ') out(permLine(p));
}

/** --prefix / --from-key / an END argument: which keys a permission covers. */
function span(end: string | undefined, o: { prefix?: boolean; fromKey?: boolean }): KeySpan {
  if ([o.prefix, o.fromKey, end !== undefined].filter(Boolean).length > 1) throw new UsageError('give one of END, --prefix or --from-key');
  return { prefix: o.prefix, fromKey: o.fromKey, rangeEnd: end };
}

const PERM_TYPES: Record<string, PermissionType> = { read: 'READ', write: 'WRITE', readwrite: 'READWRITE' };

export function roleCommands(program: Command): void {
  const role = program
    .command('role')
    .description('roles and their key permissions (auth)')
    .addHelpText('after', '\nExamples:\n  $ watchkv role add app\n  $ watchkv role grant-permission app readwrite /app/ --prefix');

  role
    .command('add <name>')
    .description('a new role, with no permissions')
    .addHelpText('after', '\nExamples:\n  $ watchkv role add app\n  Role app created')
    .action(async (name: string, _o, cmd: Command) => {
      await clientOf(cmd).auth.roleAdd(name);
      out(`Role ${name} created`);
    });

  role
    .command('get <name>')
    .description("the role's permissions")
    .addHelpText('after', '\nExamples:\n  $ watchkv role get app\n  Role app\n  KV Read:\n  \t[/app/, /app0) (prefix /app/)\n  KV Write:\n  \t[/app/, /app0) (prefix /app/)')
    .action(async (name: string, _o, cmd: Command) => {
      const perms = await clientOf(cmd).auth.roleGet(name);
      const format = formatOf(cmd);
      if (format === 'json') return out(JSON.stringify({ role: name, perm: perms }));
      if (format === 'table') return out(table(['TYPE', 'KEY', 'RANGE END'], perms.map((p) => [p.type, p.key, p.rangeEnd === '\0' ? '<open ended>' : p.rangeEnd])));
      printRole(name, perms);
    });

  role
    .command('list')
    .description('every role, sorted')
    .addHelpText('after', '\nExamples:\n  $ watchkv role list')
    .action(async (_o, cmd: Command) => {
      printNames(formatOf(cmd), 'roles', await clientOf(cmd).auth.roleList());
    });

  role
    .command('delete <name>')
    .description('remove the role (and it from every user)')
    .addHelpText('after', '\nExamples:\n  $ watchkv role delete app\n  Role app deleted')
    .action(async (name: string, _o, cmd: Command) => {
      await clientOf(cmd).auth.roleDelete(name);
      out(`Role ${name} deleted`);
    });

  role
    .command('grant-permission <name> <type> <key> [end]')
    .description('let the role read, write or readwrite a key, a range [key, end), a prefix or key and after')
    .option('--prefix', 'every key starting with <key>')
    .option('--from-key', 'every key from <key> on')
    .addHelpText('after', '\nExamples:\n  $ watchkv role grant-permission app readwrite /app/ --prefix\n  Role app updated\n  $ watchkv role grant-permission app read /config')
    .action(async (name: string, type: string, key: string, end: string | undefined, o: { prefix?: boolean; fromKey?: boolean }, cmd: Command) => {
      const permType = PERM_TYPES[type.toLowerCase()];
      if (!permType) throw new UsageError(`permission type "${type}" is not one of read, write, readwrite`);
      await clientOf(cmd).auth.roleGrantPermission(name, permType, key, span(end, o));
      out(`Role ${name} updated`);
    });

  role
    .command('revoke-permission <name> <key> [end]')
    .description('take back a permission, given as it was granted')
    .option('--prefix', 'the permission on every key starting with <key>')
    .option('--from-key', 'the permission on every key from <key> on')
    .addHelpText('after', '\nExamples:\n  $ watchkv role revoke-permission app /app/ --prefix\n  Permission of range [/app/, /app0) is revoked from role app')
    .action(async (name: string, key: string, end: string | undefined, o: { prefix?: boolean; fromKey?: boolean }, cmd: Command) => {
      const s = span(end, o);
      await clientOf(cmd).auth.roleRevokePermission(name, key, s);
      const rangeEnd = s.prefix ? utf8(prefixRangeEnd(Buffer.from(key))) : s.fromKey ? '\0' : end;
      if (rangeEnd === undefined) out(`Permission of key ${key} is revoked from role ${name}`);
      else if (rangeEnd === '\0') out(`Permission of range [${key}, <open ended> is revoked from role ${name}`);
      else out(`Permission of range [${key}, ${rangeEnd}) is revoked from role ${name}`);
    });
}
