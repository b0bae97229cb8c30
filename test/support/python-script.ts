/**
 * Runs a Python client script (Debian's /usr/bin/python3 with Debian's client packages) as the
 * tests that drive real Python etcd clients do: its output whole, its exit status, killed if it
 * hangs (a client stuck on a server that never answers must fail the test, not stall it).
 */
import { spawn, spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

export interface PythonRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Can Debian's python3 run `import <modules>`? (the test is skipped, saying why, if not) */
export function pythonCanImport(modules: string): boolean {
  return spawnSync(PYTHON, ['-c', `import ${modules}`], { stdio: 'ignore' }).status === 0;
}

export function runPython(script: string, args: string[], timeoutMs = 90_000): Promise<PythonRun> {
  return new Promise((resolve) => {
    const p = spawn(PYTHON, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}
