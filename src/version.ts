/**
 * watchkv's own version, read from package.json. The file sits one directory above this module
 * both in the sources (src/version.ts) and in the build (dist/version.js), so one relative URL
 * serves both. This file imports nothing from the project.
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function watchkvVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cached;
}
