/**
 * The fan-out writer, run as its own process (bench/lib/writer.ts forks it) so that pacing is not
 * disturbed by the harness's event loop parsing watch frames. It puts keys under one prefix, each
 * value carrying its send time, and reports the revision of every acknowledged put.
 *
 * paced: put number i is due at t0 + i/rate; at most `concurrency` in flight, so a server that falls
 *        behind shows as an achieved rate below the target.
 * flat:  `concurrency` loops put back to back until the duration is over (saturation).
 * Puts go through the JSON gateway (`transport: 'http'`, keep-alive, one call per connection at a
 * time) or etcd's gRPC KV.Put (`'grpc'`, the lean hand-framed client, ten calls in flight per
 * connection): the gRPC rows' writer speaks gRPC, as their clients would.
 */
import { Agent, request } from 'node:http';
import { b64, nowMs, timestampValue } from './keys.ts';
import { GrpcRawConn } from './grpc-raw-conn.ts';
import { eachField, encodePut } from './grpc-client.ts';

/** gRPC writer: calls in flight per connection */
const GRPC_CALLS_PER_CONN = 10;

export interface WriterJob {
  url: string;
  mode: 'paced' | 'flat';
  /** puts/s (paced only) */
  rate: number;
  concurrency: number;
  durationMs: number;
  keyPrefix: string;
  /** distinct keys cycled through under the prefix */
  keySpace: number;
  valueBytes: number;
  /** an auth token for the Authorization header (servers with auth enabled; HTTP only) */
  token?: string;
  /** how puts are sent; HTTP unless told */
  transport?: 'http' | 'grpc';
}

export interface WriterResult {
  startedAt: number;
  endedAt: number;
  ok: number;
  errors: number;
  firstError: string | null;
  /** revision of every acknowledged put, in completion order */
  revs: number[];
  achievedRate: number;
  cpuPct: number;
}

/** The revision in an encoded PutResponse (header = 1, its revision = 3), or 0. */
function putRevision(res: Buffer): number {
  let rev = 0;
  eachField(res, 0, res.length, (f, _v, start, end) => {
    if (f === 1) eachField(res, start, end, (hf, hv) => {
      if (hf === 3) rev = hv;
    });
  });
  return rev;
}

function runJob(job: WriterJob): Promise<WriterResult> {
  const u = new URL(job.url);
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  // Small requests must leave at once (no Nagle delay), or the writer adds latency of its own.
  agent.on('free', (socket) => socket.setNoDelay(true));
  const grpc = job.transport === 'grpc' ? Array.from({ length: Math.ceil(job.concurrency / GRPC_CALLS_PER_CONN) }, () => new GrpcRawConn(job.url)) : [];
  const rawKeys = Array.from({ length: job.keySpace }, (_, i) => `${job.keyPrefix}${String(i).padStart(6, '0')}`);
  const keys = rawKeys.map(b64);
  const keyBytes = rawKeys.map((k) => Buffer.from(k, 'latin1'));
  const revs: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  let issued = 0;
  let inFlight = 0;
  let lastDone = 0;
  const cpu0 = process.cpuUsage();
  const t0 = nowMs();

  const grpcPut = async (i: number): Promise<void> => {
    const value = Buffer.from(nowMs().toFixed(3).padEnd(job.valueBytes, ' '), 'latin1');
    try {
      const rev = putRevision(await grpc[i % grpc.length]!.unary('/etcdserverpb.KV/Put', encodePut(keyBytes[i % keyBytes.length]!, value)));
      lastDone = nowMs();
      if (rev > 0) revs.push(rev);
      else {
        errors++;
        firstError ??= 'gRPC put answered without a revision';
      }
    } catch (err) {
      errors++;
      firstError ??= (err as Error).message;
    }
  };

  const put = (i: number): Promise<void> =>
    grpc.length > 0 ? grpcPut(i) : new Promise((resolve) => {
      const body = `{"key":"${keys[i % keys.length]}","value":"${timestampValue(job.valueBytes)}"}`;
      const fail = (why: string): void => {
        errors++;
        firstError ??= why;
        resolve();
      };
      const req = request(
        { host: u.hostname, port: Number(u.port), path: '/v3/kv/put', method: 'POST', agent, timeout: 30_000, headers: { 'content-type': 'application/json', 'content-length': body.length, ...(job.token ? { authorization: job.token } : {}) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            lastDone = nowMs();
            const m = /"revision":"?(\d+)/.exec(text);
            if (res.statusCode !== 200 || !m) fail(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
            else {
              revs.push(Number(m[1]));
              resolve();
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('put timed out')));
      req.on('error', (e) => fail(e.message));
      req.end(body);
    });

  const finish = (): WriterResult => {
    agent.destroy();
    for (const c of grpc) c.close();
    const cpu = process.cpuUsage(cpu0);
    const end = lastDone || nowMs();
    return {
      startedAt: t0,
      endedAt: end,
      ok: revs.length,
      errors,
      firstError,
      revs,
      achievedRate: revs.length / ((end - t0) / 1000),
      cpuPct: ((cpu.user + cpu.system) / 1000 / (end - t0)) * 100,
    };
  };

  if (job.mode === 'flat') {
    const loop = async (): Promise<void> => {
      while (nowMs() - t0 < job.durationMs) await put(issued++);
    };
    return Promise.all(Array.from({ length: job.concurrency }, loop)).then(finish);
  }

  // Puts are issued until the duration is over, so a server that cannot keep up shows a lower
  // achieved rate instead of stretching the run.
  let total = Math.round((job.rate * job.durationMs) / 1000);
  return new Promise((resolve) => {
    let done = false;
    const maybeDone = (): void => {
      if (!done && issued >= total && inFlight === 0) {
        done = true;
        clearInterval(timer);
        resolve(finish());
      }
    };
    const pump = (): void => {
      const elapsed = nowMs() - t0;
      if (elapsed >= job.durationMs) total = Math.min(total, issued);
      const due = Math.min(total, Math.floor((elapsed * job.rate) / 1000) + 1);
      while (issued < due && inFlight < job.concurrency) {
        inFlight++;
        void put(issued++).then(() => {
          inFlight--;
          maybeDone();
        });
      }
      maybeDone();
    };
    const timer = setInterval(pump, 1);
    pump();
  });
}

process.on('message', (job: WriterJob) => {
  void runJob(job).then((r) => process.send!(r));
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
