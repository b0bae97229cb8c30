#!/usr/bin/env node
/**
 * The `watchkv` command (package.json "bin"): `watchkv serve [server flags]` runs the server
 * exactly as `npm start` does; `watchkv snapshot save|restore|status` handle backups. Failures
 * print one line `watchkv: …` and exit 1; bad usage exits 2 (commander's and the server's rule).
 */
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { snapshotCommands } from './cli/snapshot-commands.ts';
import { watchkvVersion } from './version.ts';

export function buildCli(): Command {
  const program = new Command('watchkv')
    .description('watchkv: etcd\'s MVCC store and watch engine behind etcd v3\'s JSON gateway')
    .version(`watchkv ${watchkvVersion()}`, '--version')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.startsWith('error:') ? `watchkv: ${text}` : text) });
  program
    .command('serve')
    .description('run the server; takes the same flags as npm start (watchkv serve --help)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_opts: unknown, cmd: Command) => {
      const { runServer } = await import('./server.ts');
      await runServer(cmd.args, process.env);
    });
  snapshotCommands(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 1 ? 2 : err.exitCode);
    process.stderr.write(`watchkv: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

const self = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : '';
if (import.meta.url === self) void main(process.argv.slice(2));
