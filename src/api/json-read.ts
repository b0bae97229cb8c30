/**
 * Reading etcd gateway JSON (grpc-gateway v1 rules): snake_case or lowerCamelCase field names,
 * int64 as numbers or strings, bytes as strict standard base64, enums as names or numbers,
 * unknown fields ignored. Every malformed input becomes ERR_INVALID_ARGUMENT with a message in
 * the style of etcd's (Go's) decoder, so clients see what is wrong.
 */
import { kvError } from '../errors.ts';

export type JsonObject = Record<string, unknown>;

/** Parses a request body; '' (no body) is the empty message, as the gateway treats it. */
export function parseJsonObject(text: string): JsonObject {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw kvError('ERR_INVALID_ARGUMENT', jsonSyntaxMessage(text, err));
  }
  return asObject(value, 'request');
}

function jsonSyntaxMessage(text: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/end of (JSON )?input|Unterminated/i.test(msg)) return 'unexpected EOF';
  return `invalid JSON: ${msg}`;
}

export function asObject(value: unknown, what: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw kvError('ERR_INVALID_ARGUMENT', `${what} must be a JSON object`);
  }
  return value as JsonObject;
}

const camelNames = new Map<string, string>();

/** snake_case name → the value under it or under its lowerCamelCase form. */
export function field(obj: JsonObject, snake: string): unknown {
  if (obj[snake] !== undefined) return obj[snake];
  // Optional fields are mostly absent, so this runs for most lookups: the names are few, fixed
  // strings, and deriving the camel form with a regex each time was 3% of a put's CPU.
  let camel = camelNames.get(snake);
  if (camel === undefined) camelNames.set(snake, (camel = snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())));
  return camel === snake ? undefined : obj[camel];
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict standard base64 (Go's base64.StdEncoding): bad input names the first bad byte. */
export function readBytes(obj: JsonObject, name: string): Buffer | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw kvError('ERR_INVALID_ARGUMENT', `${name}: bytes must be a base64 string`);
  if (!BASE64.test(v) || v.length % 4 !== 0) {
    let i = 0;
    while (i < v.length && /[A-Za-z0-9+/]/.test(v[i]!)) i++;
    // Go reports a missing/wrong padding at the position where the group ends.
    if (i === v.length) i = v.length - (v.length % 4);
    else if (v[i] === '=') i = Math.min(i, v.length - (v.length % 4 || 4));
    throw kvError('ERR_INVALID_ARGUMENT', `illegal base64 data at input byte ${i}`);
  }
  const buf = Buffer.from(v, 'base64');
  if (buf.toString('base64') !== v) throw kvError('ERR_INVALID_ARGUMENT', `illegal base64 data at input byte ${v.length - 1}`);
  return buf;
}

/** int64 given as a JSON number or a decimal string; must be a safe integer here. */
export function readInt(obj: JsonObject, name: string): number {
  const v = field(obj, name);
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw kvError('ERR_INVALID_ARGUMENT', `${name}: invalid integer ${JSON.stringify(v)}`);
  return n;
}

/** int64 that may exceed 2^53 (lease ids). */
export function readBigInt(obj: JsonObject, name: string): bigint {
  const v = field(obj, name);
  if (v === undefined || v === null) return 0n;
  if ((typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && /^-?\d{1,19}$/.test(v))) {
    const b = BigInt(v);
    if (b >= -(2n ** 63n) && b < 2n ** 63n) return b;
  }
  throw kvError('ERR_INVALID_ARGUMENT', `${name}: invalid int64 ${JSON.stringify(v)}`);
}

export function readBool(obj: JsonObject, name: string): boolean {
  const v = field(obj, name);
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw kvError('ERR_INVALID_ARGUMENT', `${name}: expected a boolean, got ${JSON.stringify(v)}`);
  return v;
}

/** Enum by name or number; `names[i]` is the enum value i. Returns undefined when absent. */
export function readEnum<T extends string>(obj: JsonObject, name: string, names: readonly T[], enumName: string): T | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && names[v] !== undefined) return names[v];
  if (typeof v === 'string' && (names as readonly string[]).includes(v)) return v as T;
  throw kvError('ERR_INVALID_ARGUMENT', `unknown value ${JSON.stringify(v)} for enum ${enumName}`);
}

export function readArray(obj: JsonObject, name: string): unknown[] {
  const v = field(obj, name);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw kvError('ERR_INVALID_ARGUMENT', `${name}: expected a list`);
  return v;
}

export function readObject(obj: JsonObject, name: string): JsonObject | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  return asObject(v, name);
}
