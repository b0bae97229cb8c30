/**
 * etcd's own gRPC proxy (`etcd grpc-proxy start`, from Debian's etcd-server 3.4) in front of a
 * Target: the proxy etcd operators put before a cluster to coalesce watches (many client
 * watchers on one key become one upstream watch), serve serializable reads from its cache and
 * forward leases. It is a Go clientv3 program, so a server it works against is a server
 * clientv3's watch, lease and KV machinery works against.
 */
import { spawn } from 'node:child_process';
import { etcdBinary, freePort } from '../../scripts/etcd-server.ts';
import type { Target } from './etcd-pair.ts';
import { ctl } from './etcdctl.ts';

export async function startGrpcProxy(upstream: Target): Promise<Target> {
  const bin = etcdBinary();
  if (!bin) throw new Error('etcd is not installed (Debian package etcd-server): the gRPC proxy is part of it');
  const port = await freePort();
  const child = spawn(bin, ['grpc-proxy', 'start', `--endpoints=${new URL(upstream.url).host}`, `--listen-addr=127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const reap = (): void => void child.kill('SIGKILL');
  process.once('exit', reap);
  const proxy: Target = {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      process.off('exit', reap);
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
  // Ready once a read goes through it to the server behind.
  for (const deadline = Date.now() + 20_000; ; ) {
    if (child.exitCode !== null) throw new Error(`etcd grpc-proxy exited at start (${child.exitCode}): ${stderr}`);
    if ((await ctl(proxy, ['get', 'ready-probe'])).code === 0) return proxy;
    if (Date.now() > deadline) {
      await proxy.stop();
      throw new Error(`etcd grpc-proxy did not become ready: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
