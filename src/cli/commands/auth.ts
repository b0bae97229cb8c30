/**
 * auth enable | disable, printed as etcdctl prints them. Enabling needs a `root` user holding the
 * `root` role; once on, every command needs --user (disable: the root role).
 */
import type { Command } from 'commander';
import { clientOf } from '../context.ts';
import { out } from '../output.ts';

export function authCommands(program: Command): void {
  const auth = program
    .command('auth')
    .description('turn authentication on or off')
    .addHelpText('after', '\nExamples:\n  $ watchkv user add root:secret && watchkv user grant-role root root\n  $ watchkv auth enable\n  $ watchkv --user root:secret auth disable');

  auth
    .command('enable')
    .description('require a user on every request (a root user with the root role must exist)')
    .addHelpText('after', '\nExamples:\n  $ watchkv auth enable\n  Authentication Enabled')
    .action(async (_o, cmd: Command) => {
      await clientOf(cmd).auth.enable();
      out('Authentication Enabled');
    });

  auth
    .command('disable')
    .description('stop requiring a user (needs the root role)')
    .addHelpText('after', '\nExamples:\n  $ watchkv --user root:secret auth disable\n  Authentication Disabled')
    .action(async (_o, cmd: Command) => {
      await clientOf(cmd).auth.disable();
      out('Authentication Disabled');
    });
}
