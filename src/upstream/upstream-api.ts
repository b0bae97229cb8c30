/**
 * Contracts of upstream mode (a watchkv node as a fan-out tier over an etcd cluster), as the
 * API layer sees it: how far the node's mirror is behind etcd, for /readyz and /metrics.
 * No code lives here.
 */

export interface UpstreamStatus {
  /** The upstream watch is established on a member. */
  connected: boolean;
  /** The range has been listed at least once (before that the node serves nothing). */
  listed: boolean;
  /** The member the upstream watch is on (http://host:port), '' before the first. */
  endpoint: string;
  /** The mirror's revision: every upstream revision up to it has been published to watchers. */
  revision: number;
  /** The highest etcd revision seen (watch headers, progress answers). */
  headRevision: number;
  /** headRevision - revision, never negative. */
  lagRevisions: number;
  /** How long the mirror has been behind (or disconnected); 0 when caught up. */
  lagSeconds: number;
}

export interface UpstreamMonitor {
  status(): UpstreamStatus;
  /** True when the node should take traffic: listed, connected, and not behind for too long. */
  ready(): { ready: boolean; reason?: string };
}
