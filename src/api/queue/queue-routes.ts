/**
 * Work queues over HTTP (the model: src/queue/queue-api.ts):
 *
 *   POST   /v1/queues/{name}/items     enqueue: one JSON value, a JSON array, NDJSON or text/plain
 *                                      → {"ids":[…],"revision"} (one txn, durable)
 *   POST   /v1/queues/{name}/take      ?max=N&wait=5s&visibility_ms=M → {"items":[…]}; long-poll:
 *                                      answers as soon as items are delivered, or empty after wait
 *   POST   /v1/queues/{name}/ack       {"ids":[…]} → {"acked":[…],"not_found":[…]}
 *   POST   /v1/queues/{name}/nack      {"ids":[…],"delay_ms"?} → {"nacked":[…],"not_found":[…]}
 *   POST   /v1/queues/{name}/extend    {"ids":[…],"ms"} → {"extended":[…],"not_found":[…]}
 *   PUT    /v1/queues/{name}           settings (partial) → {"name","settings"}
 *   GET    /v1/queues/{name}           stats and settings
 *   GET    /v1/queues                  {"queues":[stats…]}
 *   DELETE /v1/queues/{name}/items     ?dead=true also empties the dead letter → {"purged","dead_purged"}
 *
 * Errors are thrown and leave through the app's one error handler (error-map.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULTS } from '../../config.ts';
import { kvError } from '../../errors.ts';
import type { ApiContext, WatchConnection } from '../context.ts';
import { sendJson } from '../send-json.ts';
import { checkQueueName } from '../../queue/queue-service.ts';
import type { Delivery } from '../../queue/queue-api.ts';
import { parseSettingsPatch } from '../../queue/queue-settings.ts';
import { allowQueue } from './queue-auth.ts';
import { deliveryJson, statsJson } from './queue-json.ts';
import { flagParam, intField, parseEnqueueBody, parseIds, parseObject, queryDurationMs, queryInt } from './queue-input.ts';

type Q = Record<string, unknown>;

export function queueRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { queues, config } = ctx;
  // Queue limits are fixed (DEFAULTS); the body limit is the server's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: config.maxBodyBytes }, (_req, body, done) => done(null, body));

  const nameOf = (req: FastifyRequest): string => {
    const name = (req.params as { name: string }).name;
    checkQueueName(name);
    return name;
  };

  app.post('/v1/queues/:name/items', async (req, reply) => {
    const name = nameOf(req);
    allowQueue(ctx, req, name, 'write');
    const values = parseEnqueueBody(typeof req.body === 'string' ? req.body : '', req.headers['content-type']);
    const { ids, revision } = await queues.enqueue(name, values);
    return sendJson(reply, 200, JSON.stringify({ ids, revision }));
  });

  app.post('/v1/queues/:name/take', async (req, reply) => {
    const name = nameOf(req);
    allowQueue(ctx, req, name, 'readwrite');
    const q = req.query as Q;
    const max = queryInt(q, 'max', 1, DEFAULTS.queueMaxCredit, 1);
    const waitMs = queryDurationMs(q, 'wait', DEFAULTS.queueMaxTakeWaitMs);
    const visibilityMs = q.visibility_ms === undefined ? undefined : queryInt(q, 'visibility_ms', 1, DEFAULTS.queueMaxVisibilityMs, 0);
    if (!ctx.serving) throw kvError('ERR_UNAVAILABLE', 'server is shutting down');
    const items = await take(ctx, reply, name, max, waitMs, visibilityMs);
    return sendJson(reply, 200, `{"items":[${items.map(deliveryJson).join(',')}]}`);
  });

  app.post('/v1/queues/:name/ack', async (req, reply) => {
    const name = nameOf(req);
    allowQueue(ctx, req, name, 'readwrite');
    const body = parseObject(req.body);
    const r = await queues.ack(name, parseIds(body.ids, DEFAULTS.queueMaxCredit));
    return sendJson(reply, 200, JSON.stringify({ acked: r.done, not_found: r.notFound }));
  });

  app.post('/v1/queues/:name/nack', async (req, reply) => {
    const name = nameOf(req);
    allowQueue(ctx, req, name, 'readwrite');
    const body = parseObject(req.body);
    const ids = parseIds(body.ids, DEFAULTS.queueMaxCredit);
    const delayMs = intField(body.delay_ms, 'delay_ms', 0, DEFAULTS.queueMaxBackoffMs);
    const r = await queues.nack(name, ids, delayMs);
    return sendJson(reply, 200, JSON.stringify({ nacked: r.done, not_found: r.notFound }));
  });

  app.post('/v1/queues/:name/extend', async (req, reply) => {
    const name = nameOf(req);
    allowQueue(ctx, req, name, 'readwrite');
    const body = parseObject(req.body);
    const ids = parseIds(body.ids, DEFAULTS.queueMaxCredit);
    const ms = intField(body.ms, 'ms', 1, DEFAULTS.queueMaxVisibilityMs);
    if (ms === undefined) throw intFieldMissing('ms');
    const r = await queues.extend(name, ids, ms);
    return sendJson(reply, 200, JSON.stringify({ extended: r.done, not_found: r.notFound }));
  });

  app.put('/v1/queues/:name', async (req, reply) => {
    const name = nameOf(req);
    allowQueue(ctx, req, name, 'write');
    const patch = parseSettingsPatch(typeof req.body === 'string' && req.body.trim() === '' ? {} : parseObject(req.body));
    const s = await queues.configure(name, patch);
    return sendJson(reply, 200, JSON.stringify(statsJson(queues.stats(name), s)));
  });

  app.get('/v1/queues/:name', async (req, reply) => {
    const name = nameOf(req);
    allowQueue(ctx, req, name, 'read');
    return sendJson(reply, 200, JSON.stringify(statsJson(queues.stats(name), queues.settings(name))));
  });

  app.get('/v1/queues', async (req, reply) => {
    allowQueue(ctx, req, undefined, 'read');
    return sendJson(reply, 200, JSON.stringify({ queues: queues.list().map((s) => statsJson(s)) }));
  });

  app.delete('/v1/queues/:name/items', async (req, reply) => {
    const name = nameOf(req);
    allowQueue(ctx, req, name, 'write');
    const r = await queues.purge(name, flagParam(req.query as Q, 'dead'));
    return sendJson(reply, 200, JSON.stringify({ purged: r.items, dead_purged: r.dead }));
  });
}

/** ms a take that timed out still waits for deliveries already granted (their write is in flight). */
const TAKE_GRACE_MS = 5_000;

function intFieldMissing(name: string): Error {
  return kvError('ERR_INVALID_ARGUMENT', `"${name}" is required`);
}

/**
 * One HTTP take: a consumer with credit `max`. It answers once deliveries arrived and none it was
 * granted is still on its way to disk (one write batch delivers together), or after `waitMs`
 * with what it has (waiting for granted deliveries, never dropping them). Items it answered with
 * stay in flight; if the client went away before the answer, they go back at once.
 */
function take(ctx: ApiContext, reply: FastifyReply, name: string, max: number, waitMs: number, visibilityMs: number | undefined): Promise<Delivery[]> {
  return new Promise((resolve) => {
    const got: Delivery[] = [];
    let done = false;
    let timedOut = false;
    const end = (returnItems: boolean, items: Delivery[]): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ctx.connections.delete(conn);
      reply.raw.off('close', onGone);
      consumer.close(returnItems);
      resolve(items);
    };
    const check = (): void => {
      if ((got.length > 0 || timedOut) && consumer.unsent() === 0) end(false, got);
    };
    const consumer = ctx.queues.consume(
      name,
      {
        deliver: (d) => {
          got.push(d);
          setImmediate(check);
        },
      },
      { kind: 'http', visibilityMs },
    );
    const onGone = (): void => end(true, []);
    reply.raw.once('close', onGone);
    // Server shutdown: answer now with what arrived (closeWatchConnections ends every stream).
    const conn: WatchConnection = {
      shutdown: () => {
        timedOut = true;
        consumer.drain();
        check();
      },
    };
    ctx.connections.add(conn);
    let timer = setTimeout(() => {
      timedOut = true;
      consumer.drain();
      check();
      // A granted delivery whose write failed never arrives: answer anyway, a while later
      // (close() puts what was not sent back as it was).
      if (!done) timer = setTimeout(() => end(false, got), TAKE_GRACE_MS);
    }, waitMs);
    consumer.addCredit(max);
  });
}
