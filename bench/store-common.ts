/**
 * Shared bits of the store benchmarks (bench/store-*.ts): sizes from the environment, a scratch
 * LevelDB directory, and percentile formatting. The benchmarks print figures and assert nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A positive integer from the environment, else `fallback` (BENCH_QUICK=1 picks `quick`). */
export function envInt(name: string, fallback: number, quick = fallback): number {
  const raw = process.env[name];
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
    return n;
  }
  return process.env.BENCH_QUICK === '1' ? quick : fallback;
}

/** A fresh directory under the OS temp dir (or STORE_BENCH_DIR), removed by the returned function. */
export function scratchDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(process.env.STORE_BENCH_DIR ?? tmpdir(), `watchkv-bench-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** p-th percentile (0..100) of sorted milliseconds. */
export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor((p / 100) * sortedMs.length))]!;
}

export const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
