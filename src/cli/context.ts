/**
 * What every command shares: the global flags (endpoints, output format, timeout), the client
 * built from them, and the lease ID notation (hex, as etcdctl prints and reads it).
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { WatchKvClient, type ClientTlsOptions } from '../client/node.ts';
import { UsageError } from './exit-codes.ts';

export type OutputFormat = 'simple' | 'json' | 'table';

export interface GlobalOptions {
  endpoints: string;
  writeOut: OutputFormat;
  commandTimeout: string;
  user?: string;
  password?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  insecureSkipTlsVerify?: boolean;
}

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:2379';

/**
 * A setting from the environment: $WATCHKV_<NAME>, else etcdctl's own $ETCDCTL_<NAME>, so a
 * shell set up for etcdctl (ETCDCTL_ENDPOINTS, ETCDCTL_USER, ETCDCTL_CACERT, ...) works as it is.
 * An empty variable counts as none.
 */
export function envSetting(name: 'ENDPOINTS' | 'USER' | 'PASSWORD' | 'CACERT' | 'CERT' | 'KEY'): string | undefined {
  return process.env[`WATCHKV_${name}`] || process.env[`ETCDCTL_${name}`] || undefined;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function endpointsOf(g: GlobalOptions): string[] {
  const list = (g.endpoints || envSetting('ENDPOINTS') || DEFAULT_ENDPOINT)
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
    const root = rootOf(cmd).opts() as GlobalOptions;
    return new WatchKvClient({ endpoints: endpointsOf(g), requestTimeoutMs: ms, auth: authOf(root), tls: tlsOf(root) });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * The program itself: --user and --password are read from it alone, since `user add` has an
 * option of its own named `password` (etcdctl's --no-password) that optsWithGlobals would mix in.
 */
export function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/**
 * --user name[:password] (etcdctl's form) and --password, or $WATCHKV_USER / $WATCHKV_PASSWORD.
 * On a terminal, a --user without a password was already answered at a prompt (program.ts).
 */
export function authOf(g: GlobalOptions): { username: string; password: string } | undefined {
  const user = userOf(g);
  if (user === undefined || user === '') {
    if (g.password !== undefined) throw new UsageError('--password needs --user');
    return undefined;
  }
  const colon = user.indexOf(':');
  const username = colon < 0 ? user : user.slice(0, colon);
  const password = colon < 0 ? passwordOf(g) : user.slice(colon + 1);
  if (username === '') throw new UsageError('--user: the user name is empty');
  if (password === undefined) throw new UsageError(`--user ${username}: no password (give --user ${username}:PASSWORD, --password, or $WATCHKV_PASSWORD)`);
  return { username, password };
}

/** The --user flag or $WATCHKV_USER ($ETCDCTL_USER), as given (name or name:password). */
export function userOf(g: GlobalOptions): string | undefined {
  return g.user ?? envSetting('USER');
}

/** The user name when --user names a user with no password anywhere, so one must be asked for. */
export function userWithoutPassword(g: GlobalOptions): string | undefined {
  const user = userOf(g);
  if (user === undefined || user === '' || user.includes(':')) return undefined;
  return passwordOf(g) === undefined ? user : undefined;
}

/** --password or $WATCHKV_PASSWORD (an empty variable counts as none). */
function passwordOf(g: GlobalOptions): string | undefined {
  return g.password ?? envSetting('PASSWORD');
}

/**
 * --cacert, --cert, --key and --insecure-skip-tls-verify (etcdctl's flags), or $WATCHKV_CACERT,
 * $WATCHKV_CERT, $WATCHKV_KEY; undefined when none is given (the system's CAs then apply).
 */
export function tlsOf(g: GlobalOptions): ClientTlsOptions | undefined {
  const files = { cacert: g.cacert ?? envSetting('CACERT'), cert: g.cert ?? envSetting('CERT'), key: g.key ?? envSetting('KEY') };
  if ((files.cert === undefined) !== (files.key === undefined)) throw new UsageError('--cert and --key go together: give both or neither');
  if (files.cacert === undefined && files.cert === undefined && !g.insecureSkipTlsVerify) return undefined;
  const read = (flag: keyof typeof files): Buffer | undefined => {
    const path = files[flag];
    if (path === undefined || path === '') return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new UsageError(`--${flag} ${path}: ${(err as Error).message}`);
    }
  };
  const tls: ClientTlsOptions = { ca: read('cacert'), cert: read('cert'), key: read('key') };
  if (g.insecureSkipTlsVerify) tls.rejectUnauthorized = false;
  return tls;
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
