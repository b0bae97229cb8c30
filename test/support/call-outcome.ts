/**
 * What a client call ended with, as one comparable string: `ok` and its value as JSON, or the
 * error's class and message. Differential tests run the same call against etcd and watchkv and
 * compare these, so a different error class or wording fails as surely as a different value.
 */
export async function callOutcome(p: Promise<unknown>): Promise<string> {
  try {
    return `ok ${JSON.stringify(await p)}`;
  } catch (err) {
    return `${(err as Error).constructor.name}: ${(err as Error).message}`;
  }
}
