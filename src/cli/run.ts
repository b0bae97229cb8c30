/**
 * Runs the `watchkv` program on argv and maps the outcome to an exit code (exit-codes.ts):
 * help and version are successes, commander's usage errors are 2, the rest by error type.
 */
import { CommanderError, type Command } from 'commander';
import { buildProgram } from './program.ts';
import { describe, EXIT, exitCodeOf } from './exit-codes.ts';

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  for (const c of [program, ...allCommands(program)]) c.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return EXIT.OK;
      return EXIT.USAGE;
    }
    process.stderr.write(`watchkv: ${describe(err)}\n`);
    return exitCodeOf(err);
  }
}

function allCommands(c: Command): Command[] {
  return c.commands.flatMap((s) => [s, ...allCommands(s)]);
}
