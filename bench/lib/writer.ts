/** Parent side of the writer process (bench/lib/writer-proc.ts): fork once, run jobs, close. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WriterJob, WriterResult } from './writer-proc.ts';

export type { WriterJob, WriterResult };

export class WriterProcess {
  private constructor(private readonly child: ChildProcess) {}

  static start(): Promise<WriterProcess> {
    const path = fileURLToPath(new URL('./writer-proc.ts', import.meta.url));
    const child = fork(path, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      child.once('message', () => resolve(new WriterProcess(child)));
      child.once('exit', (code) => reject(new Error(`writer process exited at start (${code})`)));
    });
  }

  run(job: WriterJob): Promise<WriterResult> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`writer process died (${code})`));
      this.child.once('exit', onExit);
      this.child.once('message', (r) => {
        this.child.off('exit', onExit);
        resolve(r as WriterResult);
      });
      this.child.send(job);
    });
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
  }
}
