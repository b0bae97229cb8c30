/**
 * What every command shares: the global flags (endpoints, output format, timeout), the client
 * built from them, and the lease ID notation (hex, as etcdctl prints and reads it).
 */
import type { Command } from 'commander';
import { WatchKvClient } from '../client/node.ts';
import { UsageError } from './exit-codes.ts';

export type OutputFormat = 'simple' | 'json' | 'table';

export interface GlobalOptions {
  endpoints: string;
  writeOut: OutputFormat;
  commandTimeout: string;
}

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:2379';

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function endpointsOf(g: GlobalOptions): string[] {
  const list = (g.endpoints || process.env.WATCHKV_ENDPOINTS || DEFAULT_ENDPOINT)
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (list.length === 0) throw new UsageError('--endpoints: no endpoint given');
  return list;
}

export function clientOf(cmd: Command): WatchKvClient {
  const g = globals(cmd);
  const ms = Number(g.commandTimeout);
  if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`--command-timeout: "${g.commandTimeout}" is not a positive number of milliseconds`);
  try {
    return new WatchKvClient({ endpoints: endpointsOf(g), requestTimeoutMs: ms });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function formatOf(cmd: Command): OutputFormat {
  return globals(cmd).writeOut;
}

/** An ID (lease, member) as etcdctl prints it: lowercase hex. */
export function idHex(id: string): string {
  return BigInt(id).toString(16);
}

/** A lease ID from the command line: hex as etcdctl (694d5765fc71500b), or 0x-prefixed hex. */
export function parseLeaseId(s: string): string {
  const t = s.trim().replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,16}$/i.test(t)) throw new UsageError(`"${s}" is not a lease ID (hex, as printed by "lease grant")`);
  return BigInt('0x' + t).toString();
}

export function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new UsageError(`${name}: "${v}" is not a non-negative integer`);
  return n;
}
