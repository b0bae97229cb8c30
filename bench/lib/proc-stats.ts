/** Server-side resource figures read from /proc (Linux): resident memory and CPU time of a pid. */
import { readFileSync } from 'node:fs';

/** VmRSS of the process in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** utime + stime of the process in milliseconds (clock ticks are 1/100 s on Linux x86-64). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; the fields after its closing paren are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU use of a server process and of this (client) process over an interval, in % of one core. */
export class CpuMeter {
  private readonly serverStart: number;
  private readonly clientStart = process.cpuUsage();
  private readonly t0 = performance.now();

  constructor(private readonly pid: number) {
    this.serverStart = cpuMs(pid);
  }

  /** CPU since construction: the server's and this process's share of a core, and the server's ms. */
  read(): { serverPct: number; clientPct: number; serverMs: number } {
    const wall = performance.now() - this.t0;
    const client = process.cpuUsage(this.clientStart);
    let serverMs = Number.NaN;
    try {
      serverMs = cpuMs(this.pid) - this.serverStart;
    } catch {
      // server gone: leave NaN
    }
    return { serverPct: (serverMs / wall) * 100, clientPct: ((client.user + client.system) / 1000 / wall) * 100, serverMs };
  }
}
