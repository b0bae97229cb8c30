/**
 * Decoding and checking what clients send to the queue routes: enqueue bodies (one JSON value,
 * a JSON array, NDJSON, or text), id lists, durations. Every failure is ERR_INVALID_ARGUMENT
 * with a message that says what was wrong and what is expected.
 */
import { kvError } from '../../errors.ts';
import { ITEM_ID } from '../../queue/queue-keys.ts';

/** The item values of an enqueue body, each as JSON text. */
export function parseEnqueueBody(body: string, contentType: string | undefined): string[] {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (body.trim() === '') throw kvError('ERR_INVALID_ARGUMENT', 'the body is empty: send the item (JSON), a JSON array of items, or NDJSON');
  if (type === 'text/plain') return [JSON.stringify(body)];
  if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl' || type === 'application/jsonlines') {
    const out: string[] = [];
    body.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      parseJson(line, `NDJSON line ${i + 1}`);
      out.push(line.trim());
    });
    if (out.length === 0) throw kvError('ERR_INVALID_ARGUMENT', 'the NDJSON body holds no items');
    return out;
  }
  const value = parseJson(body, 'the body');
  if (Array.isArray(value)) {
    if (value.length === 0) throw kvError('ERR_INVALID_ARGUMENT', 'the JSON array is empty: nothing to enqueue');
    return value.map((v) => JSON.stringify(v));
  }
  return [body.trim()];
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw kvError('ERR_INVALID_ARGUMENT', `${what} is not valid JSON (${(err as Error).message}); send text as Content-Type: text/plain`);
  }
}

/** A JSON object body (ack, nack, extend, settings). */
export function parseObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'string' || body.trim() === '') throw kvError('ERR_INVALID_ARGUMENT', 'the body is empty: send a JSON object');
  const v = parseJson(body, 'the body');
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw kvError('ERR_INVALID_ARGUMENT', 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

/** `{"ids":[…]}`: 1..max item ids. */
export function parseIds(v: unknown, max: number, field = 'ids'): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0) throw kvError('ERR_INVALID_ARGUMENT', `"${field}" must be an item id or a non-empty array of item ids`);
  if (list.length > max) throw kvError('ERR_INVALID_ARGUMENT', `"${field}" holds ${list.length} ids; at most ${max} at once`);
  for (const id of list) {
    if (typeof id !== 'string' || !ITEM_ID.test(id)) throw kvError('ERR_INVALID_ARGUMENT', `invalid item id ${JSON.stringify(id)}: ids are 16-digit strings as enqueue returned them`);
  }
  return [...new Set(list as string[])];
}

/** An integer in [min, max] (undefined when absent and not required). */
export function intField(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw kvError('ERR_INVALID_ARGUMENT', `"${name}" must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A query integer in [min, max]; `fallback` when absent. */
export function queryInt(q: Record<string, unknown>, name: string, min: number, max: number, fallback: number): number {
  const v = q[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw kvError('ERR_INVALID_ARGUMENT', `query parameter "${name}" must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return Number(v);
}

/** A duration: `250ms`, `5s`, `1m`, or a bare number of seconds; in ms, at most maxMs. */
export function queryDurationMs(q: Record<string, unknown>, name: string, maxMs: number): number {
  const v = q[name];
  if (v === undefined) return 0;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim()) : null;
  const ms = m ? Math.round(Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000)) : NaN;
  if (!Number.isFinite(ms) || ms > maxMs) {
    throw kvError('ERR_INVALID_ARGUMENT', `query parameter "${name}" must be a duration like 500ms, 5s or 1m, at most ${maxMs} ms; got ${JSON.stringify(v)}`);
  }
  return ms;
}

export function flagParam(q: Record<string, unknown>, name: string): boolean {
  const v = q[name];
  if (v === undefined) return false;
  if (v === '' || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw kvError('ERR_INVALID_ARGUMENT', `query parameter "${name}" must be true or false, got ${JSON.stringify(v)}`);
}
