/**
 * Running the real etcdctl 3.4 (/usr/bin/etcdctl) against a Target, and masking what legitimately
 * differs between two servers' outputs (ids, endpoints, sizes, timings, client log lines), for
 * the differential tests that run one script of commands against etcd and watchkv.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Target } from './etcd-pair.ts';

export interface CtlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Endpoints are given as http://host:port, as most scripts write them: for its per-endpoint
 * commands (endpoint status, endpoint hashkv, defrag) etcdctl then sends that URL as the
 * request's `:authority`, which watchkv mends before Node's HTTP/2 layer sees it
 * (src/api/h2-authority.ts).
 */
export function spawnCtl(t: Target, args: string[]): ChildProcess {
  return spawn('etcdctl', [`--endpoints=${t.url}`, '--dial-timeout=3s', '--command-timeout=5s', ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export function ctl(t: Target, args: string[], stdin = ''): Promise<CtlResult> {
  return new Promise((resolve) => {
    const p = spawnCtl(t, args);
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => (stdout += d));
    p.stderr!.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin!.end(stdin);
  });
}

/** Masks what legitimately differs: ids, endpoints, sizes, timings, client log lines. */
export function normalizeCtl(s: string, t: Target): string {
  return s
    .split(t.url).join('ENDPOINT')
    .replace(/"(cluster_id|member_id|raft_term|leader|ID|raftIndex|raftAppliedIndex|raftTerm)":\d+/g, '"$1":N')
    .replace(/"dbSize(InUse)?":\d+/g, '"dbSize$1":N')
    .replace(/"name":"[^"]*"/g, '"name":"NAME"')
    .replace(/"peerURLs":\[[^\]]*\],?/g, '') // watchkv has no raft peers (README)
    .replace(/\b[0-9a-f]{16}\b/g, 'HEXID')
    .replace(/took = [0-9.]+[µnm]?s/g, 'took = T')
    .replace(/^\{"level":"warn".*\n?/gm, '') // clientv3 retry logs carry timestamps and targets
    .trim();
}
