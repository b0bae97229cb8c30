/**
 * grpc.health.v1.Health, the probe service etcd 3.4 registers (grpc-go's health server) and that
 * Kubernetes gRPC probes, grpc-health-probe and gRPC load balancers call. The overall service ""
 * is the only one known, as in etcd: Check of any other name is NOT_FOUND "unknown service",
 * Watch of one gets SERVICE_UNKNOWN and stays open, as grpc-go's server does.
 *
 * Its status is readiness (../readiness.ts, the same as /readyz): SERVING, or NOT_SERVING once
 * shutdown began and, in upstream mode, while the mirror is disconnected or behind etcd (etcd
 * 3.4 always says SERVING). A Watch gets the status at once and again whenever it changes (one
 * timer checks for all open Watches); at shutdown it gets NOT_SERVING, then its call ends
 * UNAVAILABLE like every other stream. No auth: probes carry no token, and etcd asks for none.
 */
import { status, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { MethodDefinition, ServiceDefinition } from '@grpc/proto-loader';
import type { ApiContext, WatchConnection } from '../context.ts';
import { ERROR_MESSAGES } from '../../errors.ts';
import { DEFAULTS } from '../../config.ts';
import { readiness } from '../readiness.ts';
import { checkWire } from './wire-check.ts';

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
interface HealthRequest {
  service: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * HealthCheckRequest read strictly, as grpc-go reads it for etcd: a field running past the end,
 * or a service name that is not UTF-8, is a malformed request (INTERNAL), not a name. protobufjs
 * clips such a string to what is there and accepts it. Unknown fields are skipped.
 */
export function decodeHealthRequest(b: Buffer): HealthRequest {
  let service = '';
  checkWire(b, (field, start, end) => {
    if (field === 1) service = strictUtf8.decode(b.subarray(start, end));
  });
  return { service };
}

/** The loaded definition with the strict request reader on both methods. */
export function strictHealthDefinition(def: ServiceDefinition): ServiceDefinition {
  const out: Record<string, MethodDefinition<object, object>> = {};
  for (const [name, m] of Object.entries(def)) out[name] = { ...m, requestDeserialize: decodeHealthRequest as never };
  return out as ServiceDefinition;
}

/** The overall server's name in the protocol; etcd registers no other. */
const OVERALL = '';

export function healthService(ctx: ApiContext): UntypedServiceImplementation {
  const current = (): ServingStatus => (readiness(ctx).ready ? 'SERVING' : 'NOT_SERVING');
  const watches = new Set<{ sent: ServingStatus; call: ServerWritableStream<HealthRequest, object> }>();
  let timer: NodeJS.Timeout | undefined;

  const checkWatches = (): void => {
    const now = current();
    for (const w of watches) {
      if (w.sent === now) continue;
      w.sent = now;
      w.call.write({ status: now });
    }
    if (watches.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  return {
    Check(call: ServerUnaryCall<HealthRequest, object>, callback: sendUnaryData<object>): void {
      if (call.request.service !== OVERALL) return callback({ code: status.NOT_FOUND, details: 'unknown service' });
      callback(null, { status: current() });
    },

    Watch(call: ServerWritableStream<HealthRequest, object>): void {
      // grpc-go keeps a Watch of an unknown service open (it might be registered later); here
      // none ever is, so that stream just waits for the client, or shutdown, to end it.
      const known = call.request.service === OVERALL;
      const w = { sent: (known ? current() : 'SERVICE_UNKNOWN') as ServingStatus, call };
      call.write({ status: w.sent });
      const stopped = { code: status.UNAVAILABLE, details: ERROR_MESSAGES.ERR_STOPPED };
      if (!ctx.serving) return void call.emit('error', stopped);
      let ended = false;
      const conn: WatchConnection = {
        shutdown: () => {
          if (ended) return;
          cleanup();
          if (known) call.write({ status: 'NOT_SERVING' });
          call.emit('error', stopped);
        },
      };
      ctx.connections.add(conn);
      if (known) {
        watches.add(w);
        timer ??= setInterval(checkWatches, DEFAULTS.healthWatchCheckIntervalMs).unref();
      }
      function cleanup(): void {
        ended = true;
        watches.delete(w);
        ctx.connections.delete(conn);
      }
      call.on('cancelled', cleanup);
      call.on('close', cleanup);
      call.on('error', cleanup);
    },
  };
}
