/**
 * Asking a person for a password on the terminal, as etcdctl does (`user add alice`, `--user
 * root`): the question goes to stderr, so `-w json` output on stdout stays clean, and what is
 * typed is not echoed.
 *
 * The terminal is put in raw mode for the answer, so this reads keys one at a time: Enter ends
 * the answer, Backspace takes back a character, Ctrl-C interrupts (exit 130, as etcdctl's shell
 * would give) and Ctrl-D on an empty line means no answer. Raw mode is always undone, even when
 * the answer ends in an error, so the shell is never left without echo.
 */
import { InterruptedError, UsageError } from './exit-codes.ts';

/** True when there is a person to ask: stdin is a terminal. */
export function canPrompt(input: NodeJS.ReadStream = process.stdin): boolean {
  return input.isTTY === true;
}

export function promptSecret(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let answer = '';
    const wasRaw = input.isRaw === true;
    const finish = (err: Error | null): void => {
      input.removeListener('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(answer);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003') return finish(new InterruptedError('interrupted at the password prompt'));
        if (ch === '\u0004') {
          if (answer === '') return finish(new UsageError('no password given at the prompt'));
          continue;
        }
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
        else if (ch >= ' ') answer += ch;
      }
    };
    input.setEncoding('utf8');
    // Raw mode before the question: whatever is typed once it shows is never echoed.
    input.setRawMode(true);
    output.write(question);
    input.on('data', onData);
    input.resume();
  });
}

/**
 * A new password, asked twice as etcdctl asks it ("Password of alice: ", then "Type password of
 * alice again for confirmation: "); the two must match.
 */
export async function promptNewPassword(name: string): Promise<string> {
  const first = await promptSecret(`Password of ${name}: `);
  if (first === '') throw new UsageError(`no password given for ${name}`);
  const again = await promptSecret(`Type password of ${name} again for confirmation: `);
  if (first !== again) throw new UsageError('given passwords are different');
  return first;
}
