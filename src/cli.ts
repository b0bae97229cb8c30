#!/usr/bin/env node
/**
 * The `watchkv` command (package.json "bin"; dist/cli.js once built, or `tsx src/cli.ts`): the
 * program is src/cli/program.ts, one file per command group under src/cli/. Exit codes are listed
 * in `watchkv --help` and README "Command line".
 */
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { run } from './cli/run.ts';
import { EXIT } from './cli/exit-codes.ts';
import { serving } from './cli/commands/serve.ts';

export { buildProgram as buildCli } from './cli/program.ts';

async function main(argv: string[]): Promise<void> {
  // A request whose connection vanished without an error (nothing left to wake the process)
  // must not end as a silent success: the loop running dry before run() settles is a failure.
  const unanswered = (): void => {
    process.stderr.write('watchkv: the connection ended without an answer\n');
    process.exit(EXIT.UNREACHABLE);
  };
  process.once('beforeExit', unanswered);
  const code = await run(argv);
  process.off('beforeExit', unanswered);
  // `serve` keeps running (its server listens and stops on a signal). Every other command is
  // done: exit once stdout is flushed, without waiting for fetch's idle keep-alive sockets.
  if (serving.started) return;
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
}

const self = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : '';
if (import.meta.url === self) void main(process.argv.slice(2));
