/**
 * Who a gRPC call is: etcd clients send the token from Authenticate in the `token` metadata
 * (etcdctl --user does this); with TLS and --client-cert-auth a call without a token is the user
 * its verified client certificate's CN names. undefined while auth is disabled.
 */
import type { Metadata } from '@grpc/grpc-js';
import type { ApiContext } from '../context.ts';
import type { AuthInfo } from '../../auth/auth-store.ts';

interface CallLike {
  metadata: Metadata;
  getAuthContext?: () => { sslPeerCertificate?: { subject?: { CN?: string | string[] } } } | null;
}

export function grpcAuthInfo(ctx: ApiContext, call: CallLike): AuthInfo | undefined {
  if (!ctx.auth.enabled) return undefined;
  const t = call.metadata.get('token')[0];
  const token = typeof t === 'string' && t !== '' ? t : undefined;
  if (token === undefined && ctx.config.clientCertAuth) {
    const cn = call.getAuthContext?.()?.sslPeerCertificate?.subject?.CN;
    if (typeof cn === 'string' && cn !== '') return ctx.auth.infoFromCommonName(cn);
  }
  return grpcTokenAuthInfo(ctx, token);
}

/** The same for a call whose only credential can be its `token` header (the direct path). */
export function grpcTokenAuthInfo(ctx: ApiContext, token: string | undefined): AuthInfo | undefined {
  if (!ctx.auth.enabled) return undefined;
  return ctx.auth.infoFromToken(token === '' ? undefined : token);
}

/** Calls may be identified by their TLS client certificate: only grpc-js sees the peer's. */
export const grpcCertIdentity = (ctx: ApiContext): boolean => ctx.auth.enabled && ctx.config.clientCertAuth;
