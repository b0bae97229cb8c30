/** Reading stdin: all of it, or line by line. */
import { createInterface } from 'node:readline';

export async function readStdin(): Promise<string> {
  let s = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) s += chunk;
  return s;
}

/** Lines of a stream (stdin by default), without their newline. */
export function lines(input: NodeJS.ReadableStream = process.stdin): AsyncIterable<string> {
  return createInterface({ input, crlfDelay: Infinity });
}
