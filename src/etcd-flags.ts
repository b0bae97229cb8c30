/**
 * etcd 3.4's own server flags, so that a command line written for a single-member etcd (a
 * systemd unit, a compose file, a Kubernetes static pod) starts watchkv unchanged. Three kinds:
 *   - the same setting under etcd's name: --experimental-watch-progress-notify-interval, --debug;
 *   - raft, peer, WAL and bbolt tuning that a single member without raft has nothing to apply
 *     to: accepted, and named in one warning at start so nobody believes they took effect;
 *   - values asking for what watchkv cannot be (several members, joining a cluster, the v2 API,
 *     self-signed TLS, a host whitelist): refused, saying why.
 * etcd's boolean flags also take `=true` / `=false` (Go's flag package): normalizeBooleans
 * rewrites those before parsing. Each flag may also come from etcd's ETCD_* environment variable.
 */
/** String-valued etcd flags with no effect here. */
const IGNORED_STRING = [
  'initial-cluster-token', 'listen-peer-urls', 'initial-advertise-peer-urls', 'snapshot-count', 'heartbeat-interval',
  'election-timeout', 'max-snapshots', 'max-wals', 'wal-dir', 'peer-cert-file', 'peer-key-file', 'peer-trusted-ca-file',
  'peer-cert-allowed-cn', 'peer-crl-file', 'grpc-keepalive-min-time', 'grpc-keepalive-interval', 'grpc-keepalive-timeout',
  'bcrypt-cost', 'experimental-backend-bbolt-freelist-type', 'backend-batch-interval', 'backend-batch-limit',
  'experimental-corrupt-check-time', 'metrics', 'logger', 'log-outputs',
] as const;

/** Boolean etcd flags with no effect here (true or false alike). */
const IGNORED_BOOLEAN = [
  'strict-reconfig-check', 'enable-pprof', 'experimental-initial-corrupt-check', 'experimental-enable-lease-checkpoint',
  'peer-client-cert-auth', 'peer-auto-tls', 'pre-vote', 'force-new-cluster', 'unsafe-no-fsync',
] as const;

/** Flags read here (their effect, or their refusal), beyond the ignored ones. */
const HANDLED_STRING = ['initial-cluster', 'initial-cluster-state', 'experimental-watch-progress-notify-interval', 'host-whitelist', 'cipher-suites'] as const;
const HANDLED_BOOLEAN = ['debug', 'enable-v2', 'auto-tls', 'enable-grpc-gateway'] as const;

type Opt = { type: 'string' } | { type: 'boolean' };
export const ETCD_FLAGS: Record<string, Opt> = Object.fromEntries([
  ...[...IGNORED_STRING, ...HANDLED_STRING].map((f) => [f, { type: 'string' } as Opt]),
  ...[...IGNORED_BOOLEAN, ...HANDLED_BOOLEAN].map((f) => [f, { type: 'boolean' } as Opt]),
]);

/** A refused etcd flag or value; cli-options.ts reports it as a ConfigError. */
export class EtcdFlagError extends Error {}

/** What etcd's flags on a command line come to. */
export interface EtcdFlagEffects {
  /** Flags given that change nothing here, for the start-up warning. */
  ignored: string[];
  /** ms, from --experimental-watch-progress-notify-interval */
  progressNotifyIntervalMs?: number;
  logLevel?: string;
}

const GO_TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const GO_FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/**
 * `--flag=true` becomes `--flag`, `--flag=false` is dropped (and remembered in `falses`), for
 * each boolean flag in `booleans`; Go's other spellings of true and false count too.
 */
export function normalizeBooleans(argv: readonly string[], booleans: ReadonlySet<string>): { argv: string[]; falses: Set<string> } {
  const out: string[] = [];
  const falses = new Set<string>();
  for (const arg of argv) {
    const m = /^--?([a-z0-9-]+)=(.*)$/.exec(arg);
    if (!m || !booleans.has(m[1]!)) {
      out.push(arg);
      continue;
    }
    if (GO_TRUE.includes(m[2]!)) out.push(`--${m[1]}`);
    else if (GO_FALSE.includes(m[2]!)) falses.add(m[1]!);
    else throw new EtcdFlagError(`--${m[1]}: "${m[2]}" is not true or false`);
  }
  return { argv: out, falses };
}

/**
 * Reads etcd's flags from the parsed values (`falses`: booleans given as =false): their effects,
 * or an EtcdFlagError. `name` is the member name (--name).
 */
export function etcdFlagEffects(values: Record<string, string | boolean | undefined>, falses: ReadonlySet<string>, name: string): EtcdFlagEffects {
  const given = (f: string): boolean => values[f] !== undefined || falses.has(f);
  const ignored = [...IGNORED_STRING, ...IGNORED_BOOLEAN].filter(given).map((f) => `--${f}`);
  // The JSON gateway is always served; asking for it is fine, turning it off is not possible.
  if (falses.has('enable-grpc-gateway')) ignored.push('--enable-grpc-gateway=false');
  const cluster = values['initial-cluster'];
  if (typeof cluster === 'string') {
    const members = cluster.split(',').map((m) => m.trim()).filter((m) => m !== '');
    const names = new Set(members.map((m) => m.split('=')[0]));
    if (names.size > 1) {
      throw new EtcdFlagError(`--initial-cluster: names ${names.size} members; watchkv is one member with no raft (to serve watches over an etcd cluster, use --upstream-endpoints)`);
    }
    if (names.size === 1 && !names.has(name)) throw new EtcdFlagError(`--initial-cluster: has no member named "${name}" (--name), as etcd requires`);
    ignored.push('--initial-cluster');
  }
  const state = values['initial-cluster-state'];
  if (typeof state === 'string') {
    if (state === 'existing') throw new EtcdFlagError('--initial-cluster-state existing: watchkv cannot join an etcd cluster (to serve watches over one, use --upstream-endpoints)');
    if (state !== 'new') throw new EtcdFlagError(`--initial-cluster-state: "${state}" is not one of new, existing`);
    ignored.push('--initial-cluster-state');
  }
  if (values['enable-v2'] === true) throw new EtcdFlagError('--enable-v2: watchkv serves the v3 API only (v2 is deprecated in etcd 3.4 too)');
  if (values['auto-tls'] === true) throw new EtcdFlagError('--auto-tls: watchkv does not make its own certificates; give --cert-file and --key-file');
  const hosts = values['host-whitelist'];
  if (typeof hosts === 'string' && hosts.trim() !== '*') {
    throw new EtcdFlagError('--host-whitelist: not supported; only "*" (etcd\'s default, any host) is accepted');
  }
  const ciphers = values['cipher-suites'];
  if (typeof ciphers === 'string' && ciphers.trim() !== '') throw new EtcdFlagError('--cipher-suites: not supported; Node\'s TLS defaults apply');
  const out: EtcdFlagEffects = { ignored };
  const pni = values['experimental-watch-progress-notify-interval'];
  if (typeof pni === 'string') out.progressNotifyIntervalMs = goDurationMs('experimental-watch-progress-notify-interval', pni);
  if (values.debug === true) out.logLevel = 'debug';
  return out;
}

const GO_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration as etcd's flags take it (`10m0s`, `1h30m`, `250ms`), in ms. */
function goDurationMs(flag: string, v: string): number {
  const s = v.trim();
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) throw new EtcdFlagError(`--${flag}: "${v}" is not a duration (use e.g. 10m, 5s, 1m30s)`);
  let ms = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * GO_UNITS_MS[m[2]!]!;
  return Math.round(ms);
}

/**
 * The values with etcd's environment filled in where the command line said nothing, as etcd
 * reads `ETCD_INITIAL_CLUSTER` for `--initial-cluster`; booleans by Go's rules (false ones go
 * to `falses`).
 */
export function withEtcdEnv(values: Record<string, string | boolean | undefined>, falses: Set<string>, env: NodeJS.ProcessEnv): Record<string, string | boolean | undefined> {
  const out = { ...values };
  for (const [flag, opt] of Object.entries(ETCD_FLAGS)) {
    if (out[flag] !== undefined || falses.has(flag)) continue;
    const v = env[`ETCD_${flag.toUpperCase().replaceAll('-', '_')}`];
    if (v === undefined || v === '') continue;
    if (opt.type === 'string') out[flag] = v;
    else if (GO_TRUE.includes(v)) out[flag] = true;
    else if (GO_FALSE.includes(v)) falses.add(flag);
    else throw new EtcdFlagError(`ETCD_${flag.toUpperCase().replaceAll('-', '_')}: "${v}" is not true or false`);
  }
  return out;
}

/** Boolean flags etcd spells `--flag=true|false`: watchkv's own and etcd's. */
export const ETCD_BOOLEAN_FLAGS: ReadonlySet<string> = new Set([...IGNORED_BOOLEAN, ...HANDLED_BOOLEAN, 'client-cert-auth']);
