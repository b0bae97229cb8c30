#!/usr/bin/env node
// Runs every test/**/*.test.ts file in its own Node process (uvu + tsx), two at a time, and
// closes with the one line CI reads: "N passed, N failed". uvu's own summary is per file, so
// this script adds them up; a file that crashes before its summary counts as one failure.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filter = process.argv.slice(2);

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const files = findTests(join(root, 'test')).filter(
  (f) => filter.length === 0 || filter.some((x) => f.includes(x)),
);
// Three at a time by default, also past the 2-core box's core count: many files mostly wait
// (on that box the suite took ~590 s with 2 jobs, 438 s with 3, 394 s with 4). TEST_JOBS=N runs N.
// A 3-job run once failed the upstream failover test; that was the test checking too early (a
// node start under load let its fixed event counts pass before the clients' new sessions began),
// fixed in it, not hidden by running fewer files at once.
const parallel = Math.max(1, Number(process.env.TEST_JOBS) || 3);
const perFileTimeoutMs = Number(process.env.TEST_FILE_TIMEOUT_MS) || 240_000;

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n[run-tests] killed after ${perFileTimeoutMs} ms\n`;
      child.kill('SIGKILL');
    }, perFileTimeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const num = (label) => {
        const m = output.match(new RegExp(`${label}:\\s+(\\d+)`));
        return m ? Number(m[1]) : undefined;
      };
      const total = num('Total');
      const passed = num('Passed') ?? 0;
      const skipped = num('Skipped') ?? 0;
      // uvu's Total counts the tests that ran; skipped ones are outside it.
      let failed = total === undefined ? 1 : Math.max(0, total - passed);
      if (code !== 0 && failed === 0) failed = 1;
      resolve({ file, passed, failed, skipped, code, output, ms: Date.now() - started });
    });
  });
}

const queue = [...files];
const results = [];
async function worker() {
  while (queue.length > 0) {
    const file = queue.shift();
    const r = await runFile(file);
    results.push(r);
    const name = relative(root, r.file);
    const status = r.failed > 0 ? 'FAIL' : 'ok  ';
    console.log(`${status} ${name}  (${r.passed} passed, ${r.failed} failed, ${(r.ms / 1000).toFixed(1)} s)`);
    if (r.failed > 0) console.log(r.output.replace(/^/gm, '    | '));
  }
}
await Promise.all(Array.from({ length: parallel }, worker));

const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
const skipped = results.reduce((a, r) => a + r.skipped, 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
