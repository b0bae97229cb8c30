/**
 * Reading etcd gateway JSON (grpc-gateway v1 + jsonpb rules): snake_case or lowerCamelCase field
 * names, int64 as numbers or strings, bytes as strict standard base64 (or, as Go's decoder also
 * takes, an array of byte values), enums as names or numbers, unknown fields ignored, `null` the
 * same as an absent field. A value of the wrong JSON type is rejected with the message Go's
 * encoding/json gives through the gateway, e.g. `json: cannot unmarshal array into Go value of
 * type bool` (probed against etcd 3.4.23; test/conformance/json-types.test.ts compares them).
 * Every malformed input becomes ERR_INVALID_ARGUMENT (HTTP 400, code 3).
 */
import { kvError } from '../errors.ts';

export type JsonObject = Record<string, unknown>;

/**
 * A JSON number that JSON.parse would round or silently make an integer (`1.5`, `1e2`, `1.0`,
 * or more than 15 digits) is kept as its source text, in this box: int64 fields then parse it
 * exactly (lease IDs above 2^53 given as numbers), and a float is reported as Go reports it
 * (`json: cannot unmarshal number 1e2 into Go value of type int64`).
 */
class RawNumber {
  constructor(readonly text: string) {}
}

const SEPARATORS = [':', ',', '['] as const;

/**
 * Is there a number token JSON.parse would round, right after a `:`, `,` or `[`? Those three
 * characters never occur in base64, so indexOf skips over big values at memchr speed (a regex
 * over the whole body doubled the parse time of a 1 MB put).
 */
function hasInexactNumber(text: string): boolean {
  for (const sep of SEPARATORS) {
    for (let i = text.indexOf(sep); i >= 0; i = text.indexOf(sep, i + 1)) {
      if (inexactAt(text, i + 1)) return true;
    }
  }
  return false;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** Does a number token JSON.parse would not keep exactly start at i (after blanks)? */
function inexactAt(text: string, i: number): boolean {
  let c = text.charCodeAt(i);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
  if (c === 0x2d /* - */) c = text.charCodeAt(++i);
  const start = i;
  while (isDigit(c)) c = text.charCodeAt(++i);
  return i > start && (i - start > 15 || c === 0x2e /* . */ || c === 0x65 /* e */ || c === 0x45 /* E */);
}

/**
 * JSON.parse that boxes inexact number tokens (RawNumber). Only a body that has one is scanned
 * token by token (see hasInexactNumber).
 */
export function parseJson(text: string): unknown {
  if (!hasInexactNumber(text)) return JSON.parse(text);
  const raw: string[] = [];
  let out = '';
  let from = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < n && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const m = /-?\d*(?:\.\d*)?(?:[eE][+-]?\d*)?/y;
      m.lastIndex = i;
      const tok = m.exec(text)![0];
      if (/[.eE]/.test(tok) || tok.replace('-', '').length > 15) {
        out += text.slice(from, i) + `{"\\u0000raw":${raw.length}}`;
        raw.push(tok);
        from = i + tok.length;
      }
      i += tok.length - 1;
    }
  }
  if (raw.length === 0) return JSON.parse(text);
  // Malformed tokens still fail to parse: the box is only valid JSON for what was a number.
  for (const t of raw) JSON.parse(t);
  return JSON.parse(out + text.slice(from), (_k, v) => (v !== null && typeof v === 'object' && '\u0000raw' in v ? new RawNumber(raw[v['\u0000raw']]!) : v));
}

/** Parses a request body; '' (no body) and `null` are the empty message, as the gateway has it. */
export function parseJsonObject(text: string): JsonObject {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = parseJson(text);
  } catch (err) {
    throw kvError('ERR_INVALID_ARGUMENT', jsonSyntaxMessage(text, err));
  }
  if (value === null) return {};
  return asObject(value, 'request');
}

function jsonSyntaxMessage(text: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/end of (JSON )?input|Unterminated/i.test(msg)) return 'unexpected EOF';
  return `invalid JSON: ${msg}`;
}

/** The JSON type of a parsed value, in Go's words. */
function kind(v: unknown): string {
  if (v instanceof RawNumber || typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (v === null) return 'null';
  return Array.isArray(v) ? 'array' : 'object';
}

/** Go's `json: cannot unmarshal <kind> [<number>] into Go value of type <goType>`. */
function typeError(v: unknown, goType: string, literal?: string): Error {
  const what = literal === undefined ? kind(v) : `number ${literal}`;
  return kvError('ERR_INVALID_ARGUMENT', `json: cannot unmarshal ${what} into Go value of type ${goType}`);
}

/** A message field (or the whole request): jsonpb reads it as map[string]json.RawMessage. */
export function asObject(value: unknown, _what?: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof RawNumber) {
    throw typeError(value, 'map[string]json.RawMessage');
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

/**
 * bytes: strict standard base64 (Go's base64.StdEncoding; bad input names the first bad byte),
 * or a JSON array of byte values, which Go's decoder takes for a []byte too.
 */
export function readBytes(obj: JsonObject, name: string): Buffer | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return Buffer.from(v.map(byteValue));
  if (typeof v !== 'string') throw typeError(v, '[]uint8');
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

function byteValue(v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255) return v;
  if (typeof v === 'number') throw typeError(v, 'uint8', String(v));
  if (v instanceof RawNumber) throw typeError(v, 'uint8', v.text);
  throw typeError(v, 'uint8');
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A decimal integer literal (Go's JSON number grammar) within int64, else a Go-style error. */
function int64Literal(text: string): bigint {
  if (/^-?(?:0|[1-9]\d*)$/.test(text)) {
    const b = BigInt(text);
    if (b >= INT64_MIN && b <= INT64_MAX) return b;
  }
  throw typeError(0, 'int64', text);
}

/**
 * int64 in jsonpb: a JSON number, or a string whose contents are decoded as JSON again (so
 * `" 5"` is 5, `"abc"` is a syntax error and `"1.5"` a float, each with Go's message).
 */
function readInt64(obj: JsonObject, name: string): bigint {
  const v = field(obj, name);
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return int64Literal(String(v === 0 ? 0 : v)); // -0 is 0
  if (v instanceof RawNumber) return int64Literal(v.text);
  if (typeof v !== 'string') throw typeError(v, 'int64');
  const text = v.trim();
  if (text === '') throw kvError('ERR_INVALID_ARGUMENT', 'unexpected end of JSON input');
  const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text)?.[0];
  if (number !== undefined && number.length < text.length) {
    throw kvError('ERR_INVALID_ARGUMENT', `invalid character '${text[number.length]}' after top-level value`);
  }
  if (number !== undefined) return int64Literal(number === '-0' ? '0' : number);
  let inner: unknown;
  try {
    inner = JSON.parse(text);
  } catch {
    throw kvError('ERR_INVALID_ARGUMENT', `invalid character '${text[0]}' looking for beginning of value`);
  }
  if (inner === null) return 0n;
  throw typeError(inner, 'int64');
}

/** int64 used as a JS number (revisions, limits): must also be a safe integer here. */
export function readInt(obj: JsonObject, name: string): number {
  const b = readInt64(obj, name);
  const n = Number(b);
  if (!Number.isSafeInteger(n)) throw kvError('ERR_INVALID_ARGUMENT', `${name}: ${b} is beyond the integers watchkv accepts (±2^53)`);
  return n;
}

/** int64 that may exceed 2^53 (lease ids). */
export function readBigInt(obj: JsonObject, name: string): bigint {
  return readInt64(obj, name);
}

const UINT64_END = 2n ** 64n;

/** uint64 (member ids may exceed 2^63): a JSON number or a string of decimal digits; 0 when absent. */
export function readUint64(obj: JsonObject, name: string): bigint {
  const v = field(obj, name);
  if (v === undefined || v === null) return 0n;
  const text = typeof v === 'number' ? String(v) : v instanceof RawNumber ? v.text : typeof v === 'string' ? v.trim() : undefined;
  if (text === undefined) throw typeError(v, 'uint64');
  if (/^(?:0|[1-9]\d*)$/.test(text) && BigInt(text) < UINT64_END) return BigInt(text);
  throw kvError('ERR_INVALID_ARGUMENT', `${name}: ${JSON.stringify(text)} is not a uint64 (a decimal integer from 0 to 2^64-1)`);
}

export function readBool(obj: JsonObject, name: string): boolean {
  const v = field(obj, name);
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw typeError(v, 'bool');
  return v;
}

/**
 * Enum by name or number; `names[i]` is the enum value i. Returns undefined when absent.
 * etcd takes any integer for an enum (proto3 enums are open) and gives unknown ones no defined
 * meaning; watchkv rejects them (a README difference), except where the caller says that an
 * unknown value is simply ignored (`unknownNumber: 'ignore'` returns null for it).
 */
export function readEnum<T extends string>(obj: JsonObject, name: string, names: readonly T[], enumName: string): T | undefined;
export function readEnum<T extends string>(obj: JsonObject, name: string, names: readonly T[], enumName: string, unknownNumber: 'ignore'): T | null | undefined;
export function readEnum<T extends string>(obj: JsonObject, name: string, names: readonly T[], enumName: string, unknownNumber?: 'ignore'): T | null | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isInteger(v)) {
    if (names[v] !== undefined) return names[v];
    if (unknownNumber === 'ignore' && v >= -(2 ** 31) && v < 2 ** 31) return null;
  }
  if (typeof v === 'string') {
    if ((names as readonly string[]).includes(v)) return v as T;
    throw kvError('ERR_INVALID_ARGUMENT', `unknown value ${JSON.stringify(v)} for enum ${enumName}`);
  }
  if (typeof v === 'number' && Number.isInteger(v)) throw kvError('ERR_INVALID_ARGUMENT', `unknown value ${v} for enum ${enumName}`);
  if (typeof v === 'number') throw typeError(v, enumName, String(v));
  if (v instanceof RawNumber) throw typeError(v, enumName, v.text);
  throw typeError(v, enumName);
}

/** A repeated field: jsonpb reads it as []json.RawMessage. */
export function readArray(obj: JsonObject, name: string): unknown[] {
  const v = field(obj, name);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw typeError(v, '[]json.RawMessage');
  return v;
}

/**
 * A repeated enum. jsonpb looks a string up as an enum name before it sees the field is a list,
 * so a bare string gets an enum error, not a list error (its Go messages, verbatim). Unknown
 * numbers in the list are accepted and come back as null (etcd ignores them).
 */
export function readEnumList<T extends string>(obj: JsonObject, name: string, names: readonly T[], enumName: string): Array<T | null | undefined> {
  const v = field(obj, name);
  if (typeof v === 'string') {
    const why = (names as readonly string[]).includes(v) ? 'invalid target "slice"' : `unknown value ${JSON.stringify(v)}`;
    throw kvError('ERR_INVALID_ARGUMENT', `${why} for enum ${enumName}`);
  }
  return readArray(obj, name).map((f) => readEnum({ f }, 'f', names, enumName, 'ignore'));
}

export function readObject(obj: JsonObject, name: string): JsonObject | undefined {
  const v = field(obj, name);
  if (v === undefined || v === null) return undefined;
  return asObject(v, name);
}
