/** Runs the real `watchkv` CLI (src/cli.ts through tsx) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = ['--import', 'tsx', 'src/cli.ts'];
/** The built CLI (npm run build): ~0.15 s a run instead of ~1 s through tsx, for long scripts. */
export const BUILT_CLI = ['dist/cli.js'];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], o: { input?: string; env?: Record<string, string>; built?: boolean } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(o.built ? BUILT_CLI : CLI), ...args], { cwd: ROOT, env: { ...process.env, ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(o.input ?? '');
  });
}

/** Starts a long-running CLI command; `output()` is what it printed so far. */
export function cliProcess(args: string[], env: Record<string, string> = {}): { child: ChildProcess; output(): string; errors(): string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, output: () => stdout, errors: () => stderr, exited };
}

/**
 * Runs the CLI under util-linux `script` (a pty for stdin, stdout and stderr); `output()` is
 * everything the terminal showed, `type()` is typing at it.
 */
export function inPty(args: string[], env: Record<string, string> = {}): { output(): string; type(text: string): void; exited: Promise<number | null> } {
  // `exec`: script runs the command through $SHELL -c; dash (CI's /bin/sh) would otherwise stay
  // in the foreground process group, take the SIGINT too and exit 130 whatever the CLI does.
  const quoted = [process.execPath, ...CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qfec', `exec ${quoted}`, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, COLUMNS: '120', TERM: 'xterm', ...env } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return { output: () => out, type: (t) => child.stdin.write(t), exited: new Promise((r) => child.on('close', (code) => r(code))) };
}
