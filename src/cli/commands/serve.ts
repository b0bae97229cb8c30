/**
 * serve: the watchkv server, with exactly the flags of `npm start` (they are handed to the
 * server's own entry point unparsed, so both stay the same whatever flags the server grows).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';

function serverEntry(): string {
  for (const name of ['server.ts', 'server.js']) {
    const p = fileURLToPath(new URL(`../../${name}`, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('the server entry (src/server.ts or dist/server.js) is missing');
}

/** Set once `serve` started the server: the process must stay up. */
export const serving = { started: false };

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('start a watchkv server (the same flags as `npm start`; see `watchkv serve --help`)')
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[flags...]', 'server flags, e.g. --data-dir ./data --listen-client-urls http://127.0.0.1:2379')
    .addHelpText('after', '\nExamples:\n  $ watchkv serve --data-dir ./data\n  $ watchkv serve --help     # every server flag')
    .action(async (flags: string[]) => {
      const entry = serverEntry();
      // server.ts runs its main() when it is the process's script, reading process.argv.slice(2).
      process.argv = [process.argv[0]!, entry, ...flags];
      serving.started = true;
      await import(pathToFileURL(entry).href);
    });
}
