/**
 * The `watchkv` program: global flags and the command groups (one file each under commands/, and
 * snapshot-commands.ts), so a new group is one more line here.
 *
 * The global flags are recognised anywhere on the line (`watchkv --endpoints X get k` and
 * `watchkv get k --endpoints X`), which means the program takes them before a subcommand that
 * declares a flag of the same name (snapshot save --endpoints, snapshot status -w) could: a
 * preAction hook hands a global flag given on the command line to such a subcommand.
 */
import { Command, Option } from 'commander';
import { kvCommands } from './commands/kv.ts';
import { txnCommand } from './commands/txn.ts';
import { watchCommand } from './commands/watch.ts';
import { leaseCommands } from './commands/lease.ts';
import { alarmCommands } from './commands/alarm.ts';
import { memberCommands } from './commands/member.ts';
import { authCommands } from './commands/auth.ts';
import { userCommands } from './commands/user.ts';
import { roleCommands } from './commands/role.ts';
import { endpointCommands } from './commands/endpoint.ts';
import { transferCommands } from './commands/transfer.ts';
import { serveCommand } from './commands/serve.ts';
import { snapshotCommands } from './snapshot-commands.ts';
import { watchkvVersion } from '../version.ts';
import { DEFAULT_ENDPOINT, userWithoutPassword, type GlobalOptions } from './context.ts';
import { canPrompt, promptSecret } from './prompt.ts';

/** Commands that never reach a server, so never sign in. */
const OFFLINE_COMMANDS = new Set(['serve', 'snapshot restore', 'snapshot status']);

function commandPath(c: Command): string {
  const names: string[] = [];
  for (let at: Command | null = c; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

export const EXIT_CODES_HELP = `
Exit codes:
  0    success (also a txn whose compares failed: it prints FAILURE)
  1    the server refused the request, or an endpoint is unhealthy
  2    bad command line or bad input (flags, txn lines, NDJSON)
  3    no endpoint could be reached
  4    a watch ended by the server (its revision was compacted)
  130  interrupted by Ctrl-C (import/export, a password prompt)

Environment:
  WATCHKV_ENDPOINTS   the default for --endpoints
  WATCHKV_USER        the default for --user (on a terminal, a user without a
                      password is asked for it)
  WATCHKV_PASSWORD    the default for --password
  WATCHKV_CACERT, WATCHKV_CERT, WATCHKV_KEY
                      the defaults for --cacert, --cert and --key
  Each also falls back to etcdctl's ETCDCTL_ENDPOINTS, ETCDCTL_USER, ... when unset.
`;

export function buildProgram(): Command {
  const program = new Command('watchkv')
    .description("watchkv's command line: read, write and watch keys, leases, status (etcdctl's vocabulary)")
    .option('--endpoints <urls>', `comma-separated server URLs (default: $WATCHKV_ENDPOINTS or ${DEFAULT_ENDPOINT})`)
    .addOption(new Option('-w, --write-out <format>', 'output format').choices(['simple', 'json', 'table']).default('simple'))
    .option('--command-timeout <ms>', 'one request\'s time limit in ms', '30000')
    .option('--user <name[:password]>', 'sign in as this user, for a server with auth on (default: $WATCHKV_USER)')
    .option('--password <password>', 'the password, when --user has none (default: $WATCHKV_PASSWORD)')
    .option('--cacert <file>', "CA bundle (PEM) an https:// server's certificate must chain to (default: $WATCHKV_CACERT; else the system's)")
    .option('--cert <file>', 'client certificate (PEM), for a server with --client-cert-auth (default: $WATCHKV_CERT)')
    .option('--key <file>', "the client certificate's key (PEM) (default: $WATCHKV_KEY)")
    .option('--insecure-skip-tls-verify', "accept any server certificate (testing only)")
    .version(`watchkv ${watchkvVersion()}`, '--version')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (text, write) => write(text.startsWith('error:') ? `watchkv: ${text}` : text) })
    .addHelpText(
      'after',
      `
Examples:
  $ watchkv put /app/color blue
  $ watchkv get /app/ --prefix -w table
  $ watchkv watch /app/ --prefix
  $ watchkv --endpoints http://127.0.0.1:2379 endpoint health
${EXIT_CODES_HELP}`,
    );
  kvCommands(program);
  txnCommand(program);
  watchCommand(program);
  leaseCommands(program);
  endpointCommands(program);
  alarmCommands(program);
  memberCommands(program);
  authCommands(program);
  userCommands(program);
  roleCommands(program);
  transferCommands(program);
  snapshotCommands(program);
  addSnapshotExamples(program);
  serveCommand(program);
  program.hook('preAction', (root, action) => {
    for (const opt of action.options) {
      const name = opt.attributeName();
      if (action === root || root.getOptionValueSource(name) !== 'cli' || action.getOptionValueSource(name) === 'cli') continue;
      action.setOptionValueWithSource(name, root.getOptionValue(name), 'cli');
    }
  });
  program.hook('preAction', async (root, action) => {
    // etcdctl asks for the password of a --user given without one; so do we, on a terminal, and
    // only for commands that talk to a server.
    const name = userWithoutPassword(root.opts() as GlobalOptions);
    if (name === undefined || !canPrompt() || OFFLINE_COMMANDS.has(commandPath(action))) return;
    root.setOptionValueWithSource('password', await promptSecret('Password: '), 'cli');
  });
  return program;
}

/** Examples for the snapshot group's help (its commands live in snapshot-commands.ts). */
function addSnapshotExamples(program: Command): void {
  const examples: Record<string, string> = {
    snapshot: '$ watchkv snapshot save backup.wkv --endpoints http://127.0.0.1:2379\n  $ watchkv snapshot status backup.wkv -w json',
    save: '$ watchkv snapshot save backup.wkv --endpoints http://127.0.0.1:2379',
    restore: '$ watchkv snapshot restore backup.wkv --data-dir ./data-restored',
    status: '$ watchkv snapshot status backup.wkv -w json',
  };
  const snapshot = program.commands.find((c) => c.name() === 'snapshot');
  if (!snapshot) return;
  for (const c of [snapshot, ...snapshot.commands]) {
    const ex = examples[c.name()];
    if (ex) c.addHelpText('after', `\nExamples:\n  ${ex}`);
  }
}
