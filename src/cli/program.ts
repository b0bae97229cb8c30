/**
 * The `watchkv` program: global flags and the command groups (one file each under commands/, so
 * groups added by others — snapshot — merge as one more line here).
 */
import { Command, Option } from 'commander';
import { kvCommands } from './commands/kv.ts';
import { txnCommand } from './commands/txn.ts';
import { watchCommand } from './commands/watch.ts';
import { leaseCommands } from './commands/lease.ts';
import { endpointCommands } from './commands/endpoint.ts';
import { transferCommands } from './commands/transfer.ts';
import { serveCommand } from './commands/serve.ts';
import { DEFAULT_ENDPOINT } from './context.ts';

export const EXIT_CODES_HELP = `
Exit codes:
  0    success (also a txn whose compares failed: it prints FAILURE)
  1    the server refused the request, or an endpoint is unhealthy
  2    bad command line or bad input (flags, txn lines, NDJSON)
  3    no endpoint could be reached
  4    a watch ended by the server (its revision was compacted)
  130  import/export interrupted by Ctrl-C

Environment:
  WATCHKV_ENDPOINTS   the default for --endpoints
`;

export function buildProgram(): Command {
  const program = new Command('watchkv')
    .description("watchkv's command line: read, write and watch keys, leases, status (etcdctl's vocabulary)")
    .option('--endpoints <urls>', `comma-separated server URLs (default: $WATCHKV_ENDPOINTS or ${DEFAULT_ENDPOINT})`)
    .addOption(new Option('-w, --write-out <format>', 'output format').choices(['simple', 'json', 'table']).default('simple'))
    .option('--command-timeout <ms>', 'one request\'s time limit in ms', '30000')
    .showHelpAfterError('(add --help for usage)')
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
  transferCommands(program);
  serveCommand(program);
  return program;
}
