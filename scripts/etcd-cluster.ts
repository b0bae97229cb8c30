/**
 * A real etcd 3.4 cluster on loopback for the upstream-mode tests (test/upstream) and benchmark
 * (bench/compare/upstream.ts), beside etcd-server.ts (one member): N members with
 * distinct ports in the 23xxx range (away from etcd's 2379/2380 and other tests' ephemeral
 * ports), data dirs in a temporary directory (/dev/shm when there is one), started and stopped
 * here. Members can be killed (SIGKILL) and restarted on their data dir; the leader is found
 * through each member's /v3/maintenance/status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc?: ChildProcess;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function freeBlock(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 23000 + 10 * Math.floor(Math.random() * 90);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
  throw new Error('no free block of ports in 23000-23900');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class EtcdCluster {

  private constructor(
    readonly members: Member[],
    private readonly root: string,
    private readonly extraArgs: string[],
  ) {}

  /** Starts `n` members and waits until the cluster has a leader. */
  static async start(n = 3, extraArgs: string[] = []): Promise<EtcdCluster> {
    const base = await freeBlock(2 * n);
    const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'watchkv-upstream-etcd-'));
    const members: Member[] = Array.from({ length: n }, (_, i) => ({
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${base + 2 * i}`,
      peerUrl: `http://127.0.0.1:${base + 2 * i + 1}`,
      dataDir: join(root, `m${i}`),
    }));
    const c = new EtcdCluster(members, root, extraArgs);
    process.once('exit', () => c.killAllSync());
    for (let i = 0; i < n; i++) c.spawn(i);
    await c.waitLeader();
    return c;
  }

  endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  private spawn(i: number): void {
    const m = this.members[i]!;
    const initial = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const args = [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', initial,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `watchkv-test-${this.members[0]!.clientUrl.split(':')[2]}`,
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--log-level', 'error',
      ...this.extraArgs,
    ];
    m.proc = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'ignore'] });
  }

  /** Status of member i, or undefined when it does not answer. */
  async status(i: number): Promise<{ memberId: string; leader: string; revision: number } | undefined> {
    try {
      const res = await fetch(`${this.members[i]!.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
      if (!res.ok) return undefined;
      const j = (await res.json()) as { header: { member_id: string; revision: string }; leader?: string };
      return { memberId: j.header.member_id, leader: j.leader ?? '0', revision: Number(j.header.revision) };
    } catch {
      return undefined;
    }
  }

  /** Index of the current leader (waits up to 20 s for one among the running members). */
  async waitLeader(): Promise<number> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      for (let i = 0; i < this.members.length; i++) {
        if (!this.members[i]!.proc) continue;
        const s = await this.status(i);
        if (s && s.leader !== '0' && s.leader === s.memberId) return i;
      }
      await sleep(100);
    }
    throw new Error('etcd cluster has no leader after 20 s');
  }

  /** SIGKILL member i and wait for it to exit. */
  async kill(i: number): Promise<void> {
    const p = this.members[i]!.proc;
    this.members[i]!.proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  /** Starts member i again on its data dir and waits until it answers. */
  async restart(i: number): Promise<void> {
    this.spawn(i);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (await this.status(i)) return;
      await sleep(100);
    }
    throw new Error(`member ${i} did not come back`);
  }

  private killAllSync(): void {
    for (const m of this.members) {
      try {
        m.proc?.kill('SIGKILL');
      } catch {
        // gone
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i)));
    rmSync(this.root, { recursive: true, force: true });
  }
}
