#!/usr/bin/env node
// `npm run bench`: runs the benchmarks (bench/store-*.ts, bench/watch-engine-*.ts, bench/client-*.ts)
// one after another and lets each print its figures. `npm run bench -- reopen` runs only the
// files whose name contains "reopen". The side-by-side comparison with etcd is
// `npm run bench:compare`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filter = process.argv.slice(2);
const files = readdirSync(join(root, 'bench'))
  .filter((f) => /^(store|watch-engine|client)-.*\.ts$/.test(f) && f !== 'store-common.ts' && f !== 'client-common.ts')
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n== bench/${f}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join('bench', f)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
