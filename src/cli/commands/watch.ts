/**
 * watch: prints events as they arrive, through reconnects and server restarts (the SDK resumes
 * at the last printed revision + 1). Ctrl-C (SIGINT) or SIGTERM closes the watch and exits 0;
 * a watch the server ends (its revision compacted) exits 4.
 */
import type { Command } from 'commander';
import { clientOf, formatOf, positiveInt } from '../context.ts';
import { printEvent } from '../output.ts';
import { describe, EXIT } from '../exit-codes.ts';

export function watchCommand(program: Command): void {
  program
    .command('watch')
    .description('print changes to a key, a range or a prefix as they happen (Ctrl-C to stop)')
    .argument('<key>')
    .argument('[end]', 'watch the range [key, end)')
    .option('--prefix', 'every key starting with <key>')
    .option('--rev <revision>', 'start at this revision (replays history)', '0')
    .option('--prev-kv', 'print the previous key-value of each change')
    .addHelpText(
      'after',
      `
Output (simple): the event type (PUT or DELETE), then the key, then the value, per event.

Examples:
  $ watchkv watch /app/config
  $ watchkv watch /app/ --prefix --prev-kv
  $ watchkv watch /app/ --prefix --rev 1 -w json   # replay everything, one JSON line per event`,
    )
    .action(async (key: string, end: string | undefined, o, cmd: Command) => {
      const c = clientOf(cmd);
      const format = formatOf(cmd);
      const w = c.watch(key, { prefix: o.prefix, end, startRevision: positiveInt('--rev', o.rev), prevKv: o.prevKv });
      const code = await new Promise<number>((resolve) => {
        const stop = (): void => {
          w.close();
          resolve(EXIT.OK);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        w.on('events', (b) => {
          for (const ev of b.events) printEvent(format, ev, o.prevKv === true);
        });
        w.on('disconnected', (d) => process.stderr.write(`watchkv: watch disconnected (${d.reason}); reconnecting\n`));
        w.on('error', (err) => {
          process.stderr.write(`watchkv: watch ended: ${describe(err)}\n`);
          resolve(EXIT.WATCH_ENDED);
        });
      });
      c.close();
      process.exitCode = code;
    });
}
