/**
 * etcd's gRPC API as a grpc-js Server that never listens: the shared listener
 * (src/api/listener.ts) injects the HTTP/2 connections it recognises.
 *
 * Message limits as etcd: a request may be up to maxRequestBytes + 512 KiB of gRPC overhead
 * (config.maxBodyBytes, the same headroom the HTTP body limit keeps); responses are unbounded
 * (etcd sends up to MaxInt32), so a range may return more than a put may carry.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import { Metadata, Server, ServerCredentials, type ConnectionInjector, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ApiContext } from '../context.ts';
import { DEFAULTS } from '../../config.ts';
import { healthServiceDefinition, serviceDefinition, withRawResponses } from './proto.ts';
import { KV_RAW_METHODS, kvService } from './kv-service.ts';
import { attachFastUnary, directRouter, type FastMethod, type FastUnaryOptions } from './fast-unary.ts';
import { H2Front } from '../h2/h2-front.ts';
import { grpcCertIdentity } from './grpc-auth.ts';
import type { Msg } from './decode.ts';
import { WATCH_RAW_METHODS, watchService } from './watch-service.ts';
import { serveWatchDirect } from './fast-watch.ts';
import { leaseService } from './lease-service.ts';
import { clusterService } from './cluster-service.ts';
import { maintenanceService } from './maintenance-service.ts';
import { authService } from './auth-service.ts';
import { healthService, strictHealthDefinition } from './health-service.ts';
import { errorStatus, isDirectUnary, type GrpcLog, type UnaryCallInfo } from './unary.ts';

export interface GrpcApi {
  /** Hands one accepted connection (its preface still unread) to grpc-js. */
  injector: ConnectionInjector;
  /**
   * Takes an HTTP/2 connection whose first bytes (`head`) were read, into watchkv's own framing
   * layer (src/api/h2/), or undefined when that layer is off (config.h2Framing 'node').
   */
  acceptH2: ((socket: net.Socket, head: Buffer) => void) | undefined;
  /**
   * Stops serving: no new calls; open calls get up to graceMs to finish, then every HTTP/2
   * session is cut. Watch and keep-alive streams are ended before (closeWatchConnections).
   */
  close(graceMs: number): Promise<void>;
  /**
   * The direct paths (fast-unary.ts, fast-watch.ts): whether they are in place, the unary calls
   * and the Watch streams they served.
   */
  fastUnary: { attached: boolean; served: { count: number }; watchStreams: { count: number } };
}

/**
 * Every unary method built with unary.ts (all of KV, Lease, Cluster, Maintenance and Auth but the
 * streaming ones), for the direct path: the request decoded and the response encoded with the
 * service definition's own (protobufjs) functions, as grpc-js would, and the handler given a call
 * whose metadata holds the `token` header. Streaming methods and health stay on grpc-js.
 */
/** The call of a direct call without a token (handlers only read it): one for all of them. */
const NO_TOKEN: UnaryCallInfo = Object.freeze({ metadata: new Metadata() });

function tokenMetadata(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set('token', token);
  return metadata;
}

function directMethods(services: ReadonlyArray<[ServiceDefinition, UntypedServiceImplementation]>): Map<string, FastMethod> {
  const out = new Map<string, FastMethod>();
  for (const [definition, implementation] of services) {
    for (const [name, m] of Object.entries(definition)) {
      const impl = implementation[name];
      if (m.requestStream || m.responseStream || !isDirectUnary(impl)) continue;
      out.set(m.path, {
        name,
        decode: (b) => m.requestDeserialize(b) as Msg,
        run: (req, token) => {
          // Throws before its first await for a refused call, as the direct path expects.
          const result = impl.direct(req, token === undefined ? NO_TOKEN : { metadata: tokenMetadata(token) });
          return Promise.resolve(result).then((r) => m.responseSerialize(r));
        },
      });
    }
  }
  return out;
}

/**
 * `http` takes the HTTP/2 requests that are not gRPC, as node:http2's compatibility request and
 * response (the HTTP app's request listener: fastify accepts them).
 */
export function buildGrpcServer(ctx: ApiContext, log: GrpcLog, http?: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void): GrpcApi {
  const server = new Server({
    'grpc.max_receive_message_length': ctx.config.maxBodyBytes,
    'grpc.max_send_message_length': -1,
    // channelz (grpc's introspection service) keeps per-call statistics nobody can query here.
    'grpc.enable_channelz': 0,
  });
  const services: Array<[ServiceDefinition, UntypedServiceImplementation]> = [
    [withRawResponses(serviceDefinition('KV'), KV_RAW_METHODS), kvService(ctx, log)],
    [withRawResponses(serviceDefinition('Watch'), WATCH_RAW_METHODS), watchService(ctx)],
    [serviceDefinition('Lease'), leaseService(ctx, log)],
    [serviceDefinition('Cluster'), clusterService(ctx, log)],
    [serviceDefinition('Maintenance'), maintenanceService(ctx, log)],
    [serviceDefinition('Auth'), authService(ctx, log)],
    [strictHealthDefinition(healthServiceDefinition()), healthService(ctx)],
  ];
  for (const [definition, implementation] of services) server.addService(definition, implementation);
  // Every path served, for grpc-go's answers to the others (fast-unary.ts `known`).
  const knownPaths = new Set(services.flatMap(([d]) => Object.values(d).map((m) => m.path)));
  const known = { paths: knownPaths, services: new Set([...knownPaths].map((p) => p.slice(1, p.lastIndexOf('/')))) };

  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const fastUnary = { count: 0 };
  const watchStreams = { count: 0 };
  const watchPath = serviceDefinition('Watch').Watch!;
  const directOptions: FastUnaryOptions = {
    methods: directMethods(services),
    maxReceiveBytes: ctx.config.maxBodyBytes,
    certIdentity: () => grpcCertIdentity(ctx),
    statusOf: (err, method) => errorStatus(log, method, err),
    served: fastUnary,
    streams: new Map([
      [
        watchPath.path,
        (stream, headers) =>
          serveWatchDirect(ctx, stream, headers, { decode: (b) => watchPath.requestDeserialize(b) as Msg, maxReceiveBytes: ctx.config.maxBodyBytes }),
      ],
    ]),
    streamsServed: watchStreams,
    known,
    plain:
      http &&
      ((stream, headers, _flags, rawHeaders) => {
        // HTTP/2 names the host in :authority; the routes (same-origin checks, redirects) read Host.
        if (headers.host === undefined && typeof headers[':authority'] === 'string') headers.host = headers[':authority'];
        http(new http2.Http2ServerRequest(stream, headers, {}, rawHeaders), new http2.Http2ServerResponse(stream));
      }),
  };
  const fastAttached = attachFastUnary(server, directOptions);
  // HTTP/2 connections are framed by watchkv (src/api/h2/); what it does not answer directly
  // reaches grpc-js (and the plain routes) through an internal node:http2 session, as before.
  const front =
    fastAttached && ctx.config.h2Framing === 'own'
      ? new H2Front({
          direct: directRouter(directOptions),
          inject: (socket) => injector.injectConnection(socket),
          windowBytes: DEFAULTS.h2WindowBytes,
          maxHeaderListBytes: DEFAULTS.h2MaxHeaderListBytes,
          maxResetsPerSecond: DEFAULTS.h2MaxResetsPerSecond,
        })
      : undefined;
  let closing: Promise<void> | undefined;
  const close = (graceMs: number): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, graceMs);
      force.unref();
      const grpcDone = new Promise<void>((r) => server.tryShutdown(() => r()));
      void Promise.all([grpcDone, front?.close(graceMs)]).then(() => {
        clearTimeout(force);
        resolve();
      });
    }));
  return { injector, acceptH2: front && ((socket, head) => front.accept(socket, head)), close, fastUnary: { attached: fastAttached, served: fastUnary, watchStreams } };
}
