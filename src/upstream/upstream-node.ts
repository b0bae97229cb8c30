/**
 * Opens the pieces of an upstream-mode node (server.ts assembles them like the local store's):
 * the etcd client, the mirror KV with its follower, the forwarding lessor, a node-local auth
 * store, and the monitor /readyz and /metrics read. Resolves once the range is listed, so the
 * watch engine built on the KV starts at the upstream's revision.
 */
import { DEFAULTS, type AuthTokenConfig } from '../config.ts';
import { openAuthStore, type AuthStore } from '../auth/auth-store.ts';
import { EtcdClient } from './etcd-client.ts';
import { MemoryAuthHost } from './memory-auth-host.ts';
import type { UpstreamMonitor, UpstreamStatus } from './upstream-api.ts';
import { UpstreamFollower } from './upstream-follower.ts';
import { UpstreamKv } from './upstream-kv.ts';
import { UpstreamLessor } from './upstream-lessor.ts';

export interface UpstreamNodeOptions {
  endpoints: string[];
  prefix: string;
  authTokenTtlSeconds: number;
  authToken: AuthTokenConfig;
  requestTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  progressIntervalMs: number;
  readyLagMs: number;
  listPageKeys: number;
  writeVisibleWaitMs: number;
  log(level: 'info' | 'warn', fields: object, msg: string): void;
}

export interface UpstreamNode {
  kv: UpstreamKv;
  lessor: UpstreamLessor;
  auth: AuthStore;
  monitor: UpstreamMonitor;
  /** Stops following and closes the connections (after the engine and app are closed). */
  close(): Promise<void>;
}

/** /readyz in upstream mode: listed, connected, and not behind etcd for longer than readyLagMs. */
export function readiness(s: UpstreamStatus, readyLagMs: number): { ready: boolean; reason?: string } {
  if (!s.listed) return { ready: false, reason: 'upstream: not listed yet' };
  if (!s.connected) return { ready: false, reason: 'upstream: disconnected from etcd' };
  if (s.lagSeconds * 1000 > readyLagMs) return { ready: false, reason: `upstream: ${s.lagRevisions} revisions behind for ${s.lagSeconds.toFixed(1)} s` };
  return { ready: true };
}

export async function openUpstreamNode(partial: Partial<UpstreamNodeOptions> & { endpoints: string[] }): Promise<UpstreamNode> {
  const o: UpstreamNodeOptions = {
    prefix: '',
    authTokenTtlSeconds: DEFAULTS.authTokenTtlSeconds,
    authToken: { kind: 'simple' },
    requestTimeoutMs: DEFAULTS.upstreamRequestTimeoutMs,
    retryMinMs: DEFAULTS.upstreamRetryMinMs,
    retryMaxMs: DEFAULTS.upstreamRetryMaxMs,
    progressIntervalMs: DEFAULTS.upstreamProgressIntervalMs,
    readyLagMs: DEFAULTS.upstreamReadyLagMs,
    listPageKeys: DEFAULTS.upstreamListPageKeys,
    writeVisibleWaitMs: DEFAULTS.upstreamWriteVisibleWaitMs,
    log: () => undefined,
    ...partial,
  };
  const client = new EtcdClient(o.endpoints, o);
  const kv = new UpstreamKv(client, { prefix: Buffer.from(o.prefix, 'utf8'), writeVisibleWaitMs: o.writeVisibleWaitMs, requestTimeoutMs: o.requestTimeoutMs });
  const follower = new UpstreamFollower(client, kv, {
    key: kv.key,
    rangeEnd: kv.rangeEnd,
    listPageKeys: o.listPageKeys,
    progressIntervalMs: o.progressIntervalMs,
    globalHead: o.prefix === '',
    log: o.log,
  });
  await follower.start();
  const lessor = new UpstreamLessor(client);
  const auth = await openAuthStore(new MemoryAuthHost(() => kv.currentRevision()), { tokenTtlSeconds: o.authTokenTtlSeconds, token: o.authToken });
  const monitor: UpstreamMonitor = {
    status: (): UpstreamStatus => follower.status(),
    ready: () => readiness(follower.status(), o.readyLagMs),
  };
  return {
    kv,
    lessor,
    auth,
    monitor,
    close: async () => {
      auth.close();
      await lessor.close();
      await follower.close();
      client.close();
    },
  };
}
