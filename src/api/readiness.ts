/**
 * Whether this node should be sent traffic: the one answer behind HTTP /readyz and the gRPC
 * health service (grpc.health.v1), so a load balancer or Kubernetes probe reads the same state
 * whichever protocol it speaks. Not ready once shutdown began, and in upstream mode while the
 * mirror is disconnected or behind etcd (upstream-node.ts says why).
 */
import type { ApiContext } from './context.ts';

export type Readiness = { ready: true } | { ready: false; reason: string };

export function readiness(ctx: Pick<ApiContext, 'serving' | 'upstream'>): Readiness {
  if (!ctx.serving) return { ready: false, reason: 'shutting down' };
  const up = ctx.upstream?.ready();
  if (up && !up.ready) return { ready: false, reason: up.reason ?? 'behind the upstream' };
  return { ready: true };
}
