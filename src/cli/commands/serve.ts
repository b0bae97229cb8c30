/**
 * serve: the watchkv server, with exactly the flags of `npm start` (handed unparsed to the
 * server's own runServer, so both stay the same whatever flags the server grows).
 */
import type { Command } from 'commander';

/** Set once `serve` started the server: the process must stay up until a signal stops it. */
export const serving = { started: false };

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('run the server; takes the same flags as npm start (watchkv serve --help)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', '\nExamples:\n  $ watchkv serve --data-dir ./data\n  $ watchkv serve --help     # every server flag')
    .action(async (_opts: unknown, cmd: Command) => {
      const { runServer } = await import('../../server.ts');
      serving.started = true;
      await runServer(cmd.args, process.env);
    });
}
