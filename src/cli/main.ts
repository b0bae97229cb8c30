/**
 * The `watchkv` command's entry: parse, run, map the outcome to an exit code (exit-codes.ts).
 */
import { CommanderError } from 'commander';
import { buildProgram } from './program.ts';
import { describe, EXIT, exitCodeOf } from './exit-codes.ts';
import { serving } from './commands/serve.ts';

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  for (const c of allCommands(program)) c.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; everything else commander reports is a usage error.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return EXIT.OK;
      return EXIT.USAGE;
    }
    process.stderr.write(`watchkv: ${describe(err)}\n`);
    return exitCodeOf(err);
  }
}

function allCommands(c: ReturnType<typeof buildProgram>): ReturnType<typeof buildProgram>[] {
  return c.commands.flatMap((s) => [s, ...allCommands(s)]);
}

const code = await run(process.argv.slice(2));
// `serve` keeps running (its server listens). Every other command is done: exit once stdout is
// flushed, without waiting for idle keep-alive sockets of fetch to time out.
if (!serving.started) {
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
}
