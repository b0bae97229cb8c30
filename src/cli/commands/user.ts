/**
 * user add | get | list | delete | passwd | grant-role | revoke-role, printed as etcdctl prints
 * them ("User alice created", "Role app is granted to user alice", ...). A password comes from
 * NAME:PASSWORD, --new-user-password, a prompt on a terminal (asked twice, not echoed, as
 * etcdctl asks), or else the first line of stdin (etcdctl's --interactive=false).
 */
import type { Command } from 'commander';
import { clientOf, formatOf } from '../context.ts';
import { UsageError } from '../exit-codes.ts';
import { out, printNames, table } from '../output.ts';
import { readStdin } from '../stdin.ts';
import { canPrompt, promptNewPassword } from '../prompt.ts';
import { printRole } from './role.ts';

async function passwordOf(given: string | undefined, name: string): Promise<string> {
  if (given !== undefined) return given;
  if (canPrompt()) return promptNewPassword(name);
  const line = (await readStdin()).split(/\r?\n/)[0] ?? '';
  if (line === '') throw new UsageError(`no password for ${name} on stdin`);
  return line;
}

export function userCommands(program: Command): void {
  const user = program
    .command('user')
    .description('users and their roles (auth)')
    .addHelpText('after', '\nExamples:\n  $ watchkv user add root:secret\n  $ watchkv user grant-role root root');

  user
    .command('add <name[:password]>')
    .description('a new user, with a password or none (--no-password: client certificates only)')
    .option('--new-user-password <password>', 'the password, when not given after the name')
    .option('--no-password', 'a user without a password')
    .addHelpText('after', '\nExamples:\n  $ watchkv user add alice:secret\n  User alice created\n  $ echo secret | watchkv user add bob')
    .action(async (spec: string, o: { newUserPassword?: string; password: boolean }, cmd: Command) => {
      const colon = spec.indexOf(':');
      const name = colon < 0 ? spec : spec.slice(0, colon);
      if (name === '') throw new UsageError('the user name is empty');
      const inline = colon < 0 ? undefined : spec.slice(colon + 1);
      if (!o.password && (inline !== undefined || o.newUserPassword !== undefined)) throw new UsageError('--no-password and a password were both given');
      const password = o.password ? await passwordOf(inline ?? o.newUserPassword, name) : null;
      await clientOf(cmd).auth.userAdd(name, password);
      out(`User ${name} created`);
    });

  user
    .command('get <name>')
    .description("the user's roles (--detail: with each role's permissions)")
    .option('--detail', "print each role's permissions too")
    .addHelpText('after', '\nExamples:\n  $ watchkv user get alice\n  User: alice\n  Roles: app')
    .action(async (name: string, o: { detail?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const roles = await client.auth.userGet(name);
      const format = formatOf(cmd);
      if (format === 'json') return out(JSON.stringify({ user: name, roles }));
      if (format === 'table') return out(table(['USER', 'ROLES'], [[name, roles.join(',')]]));
      out(`User: ${name}`);
      if (!o.detail) return out(`Roles:${roles.map((r) => ` ${r}`).join('')}`);
      for (const r of roles) {
        out('');
        printRole(r, await client.auth.roleGet(r));
      }
    });

  user
    .command('list')
    .description('every user, sorted')
    .addHelpText('after', '\nExamples:\n  $ watchkv user list')
    .action(async (_o, cmd: Command) => {
      printNames(formatOf(cmd), 'users', await clientOf(cmd).auth.userList());
    });

  user
    .command('delete <name>')
    .description('remove the user (their tokens stop working)')
    .addHelpText('after', '\nExamples:\n  $ watchkv user delete alice\n  User alice deleted')
    .action(async (name: string, _o, cmd: Command) => {
      await clientOf(cmd).auth.userDelete(name);
      out(`User ${name} deleted`);
    });

  user
    .command('passwd <name>')
    .description("change the user's password (from --new-user-password, a prompt, or stdin)")
    .option('--new-user-password <password>', 'the new password')
    .addHelpText('after', '\nExamples:\n  $ echo n3w | watchkv user passwd alice\n  Password updated')
    .action(async (name: string, o: { newUserPassword?: string }, cmd: Command) => {
      await clientOf(cmd).auth.userChangePassword(name, await passwordOf(o.newUserPassword, name));
      out('Password updated');
    });

  user
    .command('grant-role <name> <role>')
    .description('give the user a role')
    .addHelpText('after', '\nExamples:\n  $ watchkv user grant-role alice app\n  Role app is granted to user alice')
    .action(async (name: string, role: string, _o, cmd: Command) => {
      await clientOf(cmd).auth.userGrantRole(name, role);
      out(`Role ${role} is granted to user ${name}`);
    });

  user
    .command('revoke-role <name> <role>')
    .description('take a role from the user')
    .addHelpText('after', '\nExamples:\n  $ watchkv user revoke-role alice app\n  Role app is revoked from user alice')
    .action(async (name: string, role: string, _o, cmd: Command) => {
      await clientOf(cmd).auth.userRevokeRole(name, role);
      out(`Role ${role} is revoked from user ${name}`);
    });
}
