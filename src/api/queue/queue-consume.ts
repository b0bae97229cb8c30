/**
 * GET /v1/queues/{name}/consume upgraded to a WebSocket: a credit-based consumer.
 *
 * Client frames (one JSON object each):
 *   {"credit":N}                 up to N more deliveries may come (total held credit ≤ queueMaxCredit)
 *   {"ack":id | [ids]}           complete items → {"acked":[…]} (+ {"not_found":[…],"op":"ack"});
 *                                the answers of one turn are merged into one frame
 *   {"nack":id | [ids], "delay_ms"?}   fail items this consumer holds → {"nacked":[…]}
 *   {"extend":id | [ids], "ms"}  move their deadline to now + ms → {"extended":[…]}
 * Server frames:
 *   {"deliver":{"id","value","attempt","enqueued_revision","deadline_ms"}}
 *   {"expired":id}               the deadline passed: the item is no longer this consumer's
 *   {"error":{"code","message"}} a bad frame (the connection stays open)
 * Query: ?visibility_ms=M sets this consumer's visibility. Closing the socket returns every item
 * it holds at once. Close codes: 1001 on server shutdown, 1008 when auth fails at the upgrade.
 */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { ApiContext, WatchConnection } from '../context.ts';
import { DEFAULTS } from '../../config.ts';
import { kvError } from '../../errors.ts';
import { mapError, WS_CLOSE, wsCloseReason } from '../error-map.ts';
import { checkQueueName } from '../../queue/queue-service.ts';
import type { AckResult, Consumer } from '../../queue/queue-api.ts';
import { allowQueue } from './queue-auth.ts';
import { deliveryJson } from './queue-json.ts';
import { intField, parseIds, queryInt } from './queue-input.ts';
import { webSocketRequired } from '../ws/not-an-upgrade.ts';
import { frameText } from '../ws/frame-text.ts';

export function queueConsumeRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.route({
    method: 'GET',
    url: '/v1/queues/:name/consume',
    handler: webSocketRequired,
    wsHandler: (socket, req) => {
      if (!ctx.serving) return socket.close(WS_CLOSE.goingAway.code, WS_CLOSE.goingAway.reason);
      let name: string;
      let visibilityMs: number | undefined;
      try {
        name = (req.params as { name: string }).name;
        checkQueueName(name);
        allowQueue(ctx, req, name, 'readwrite');
        const q = req.query as Record<string, unknown>;
        visibilityMs = q.visibility_ms === undefined ? undefined : queryInt(q, 'visibility_ms', 1, DEFAULTS.queueMaxVisibilityMs, 0);
      } catch (err) {
        socket.send(errorFrame(err));
        return socket.close(WS_CLOSE.policyViolation, wsCloseReason(mapError(err).message));
      }
      // The frames of one turn (a write batch's deliveries, a burst of ack answers) leave in one
      // write: the socket is corked at the first frame and uncorked after the turn.
      const net = req.raw.socket;
      net.setNoDelay(true);
      let corked = false;
      const send = (text: string): void => {
        if (socket.readyState !== socket.OPEN) return;
        if (!corked) {
          corked = true;
          net.cork();
          setImmediate(() => {
            corked = false;
            net.uncork();
          });
        }
        socket.send(text);
      };
      const answers = new Answers(send);
      let consumer: Consumer;
      try {
        consumer = ctx.queues.consume(
          name,
          { deliver: (d) => send(`{"deliver":${deliveryJson(d)}}`), expired: (id) => send(`{"expired":"${id}"}`) },
          { kind: 'ws', visibilityMs },
        );
      } catch (err) {
        socket.send(errorFrame(err));
        return socket.close(WS_CLOSE.goingAway.code, WS_CLOSE.goingAway.reason);
      }
      const conn: WatchConnection = { shutdown: (code, reason) => socket.close(code, reason) };
      ctx.connections.add(conn);
      socket.on('message', (data) => {
        const text = frameText(data);
        handleFrame(ctx, name, consumer, text, send, answers).catch((err) => send(errorFrame(err)));
      });
      socket.on('close', () => {
        ctx.connections.delete(conn);
        consumer.close(true);
      });
      socket.on('error', () => (socket as WebSocket).terminate());
    },
  });
}

async function handleFrame(ctx: ApiContext, name: string, consumer: Consumer, text: string, send: (t: string) => void, answers: Answers): Promise<void> {
  let f: Record<string, unknown>;
  try {
    f = JSON.parse(text);
  } catch {
    throw kvError('ERR_INVALID_ARGUMENT', 'a frame must be a JSON object: {"credit":N}, {"ack":id}, {"nack":id}, {"extend":id,"ms":M}');
  }
  if (f === null || typeof f !== 'object' || Array.isArray(f)) throw kvError('ERR_INVALID_ARGUMENT', 'a frame must be a JSON object');
  const ops = ['credit', 'ack', 'nack', 'extend'].filter((k) => k in f);
  if (ops.length !== 1) throw kvError('ERR_INVALID_ARGUMENT', `a frame must hold exactly one of credit, ack, nack, extend; got ${JSON.stringify(Object.keys(f))}`);
  const max = DEFAULTS.queueMaxCredit;
  const reply = (op: string, word: 'acked' | 'nacked' | 'extended', r: AckResult): void => {
    if (r.done.length > 0) answers.add(word, r.done);
    if (r.notFound.length > 0) send(JSON.stringify({ not_found: r.notFound, op }));
  };
  switch (ops[0]) {
    case 'credit': {
      const n = intField(f.credit, 'credit', 1, max)!;
      if (consumer.credit() + n > max) throw kvError('ERR_INVALID_ARGUMENT', `credit would exceed ${max} (holding ${consumer.credit()})`);
      consumer.addCredit(n);
      return;
    }
    case 'ack':
      return reply('ack', 'acked', await ctx.queues.ack(name, parseIds(f.ack, max, 'ack')));
    case 'nack': {
      const ids = parseIds(f.nack, max, 'nack');
      const delayMs = intField(f.delay_ms, 'delay_ms', 0, DEFAULTS.queueMaxBackoffMs);
      return reply('nack', 'nacked', await ctx.queues.nack(name, ids, delayMs, consumer));
    }
    case 'extend': {
      const ids = parseIds(f.extend, max, 'extend');
      const ms = intField(f.ms, 'ms', 1, DEFAULTS.queueMaxVisibilityMs);
      if (ms === undefined) throw kvError('ERR_INVALID_ARGUMENT', '"ms" is required with extend');
      return reply('extend', 'extended', await ctx.queues.extend(name, ids, ms, consumer));
    }
  }
}

/** Ack/nack/extend answers of one turn, merged: one {"acked":[…]} frame for a burst of acks. */
class Answers {
  private pending: Record<'acked' | 'nacked' | 'extended', string[]> = { acked: [], nacked: [], extended: [] };
  private scheduled = false;

  constructor(private readonly send: (t: string) => void) {}

  add(word: 'acked' | 'nacked' | 'extended', ids: string[]): void {
    this.pending[word].push(...ids);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      for (const w of ['acked', 'nacked', 'extended'] as const) {
        if (this.pending[w].length > 0) this.send(JSON.stringify({ [w]: this.pending[w] }));
        this.pending[w] = [];
      }
    });
  }
}

function errorFrame(err: unknown): string {
  const m = mapError(err);
  return JSON.stringify({ error: { code: m.grpcCode, http_code: m.httpStatus, message: m.message } });
}
