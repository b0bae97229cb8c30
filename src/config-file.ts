/**
 * `--config-file FILE`: a YAML mapping whose keys are the flag names without dashes in front
 * (`listen-client-urls: http://127.0.0.1:2379`, `data-dir: /var/lib/watchkv`), like etcd's
 * config file. Values are read as the flag's text would be (numbers and booleans are turned
 * back into their text; a list becomes a comma-separated string, as listen-client-urls takes),
 * so one validator serves flags, environment and file. A key that is not a flag is an error
 * naming it: a typo must not silently fall back to a default.
 *
 * Precedence is decided by the caller (cli-options.ts): flags, then environment, then the file.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export class ConfigFileError extends Error {}

/** Reads FILE; `known` are the keys it may hold. Returns flag name → value text. */
export function readConfigFile(file: string, known: readonly string[]): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigFileError(`--config-file: cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigFileError(`--config-file: "${file}" is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigFileError(`--config-file: "${file}" must be a mapping of flag names to values`);
  const entries = Object.entries(doc as Record<string, unknown>);
  const unknown = entries.map(([k]) => k).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new ConfigFileError(`--config-file: "${file}" has unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (value === null || value === undefined) continue; // `key:` with nothing after it: unset
    const text = scalarText(value);
    if (text === undefined) throw new ConfigFileError(`--config-file: "${file}": ${key} must be a string, a number or a list of strings`);
    out[key] = text;
  }
  return out;
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.join(',');
  return undefined;
}
