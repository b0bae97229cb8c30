#!/usr/bin/env node
// The build `npm ci` runs (package.json "prepare"): compile src/ to dist/ with tsc
// (tsconfig.build.json rewrites the sources' `.ts` import specifiers to `.js`), then copy every
// non-TypeScript file under src/ (.proto files, the web UI's static files, ...) to the same place
// under dist/, so code finds its assets beside itself whether it runs from src/ or dist/.
// dist/ is removed first: a file deleted from src/ must not live on in dist/.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'src');
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);

// The `watchkv` command (package.json "bin") must be executable.
chmodSync(join(dist, 'cli.js'), 0o755);

let copied = 0;
(function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) copyAssets(p);
    else if (!name.endsWith('.ts')) {
      const to = join(dist, relative(src, p));
      cpSync(p, to, { force: true });
      copied++;
    }
  }
})(src);
console.log(`built ${relative(process.cwd(), dist) || 'dist'}/ (${copied} asset file${copied === 1 ? '' : 's'} copied)`);
