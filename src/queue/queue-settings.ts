/**
 * Queue settings: defaults, validation of a patch (wire names in snake_case), and the record.
 * Every bound has a reason: a 0 visibility would redeliver before any consumer could answer,
 * and an unbounded max_attempts would keep a poison item forever.
 */
import { DEFAULTS } from '../config.ts';
import { kvError } from '../errors.ts';
import type { QueueSettings } from './queue-api.ts';

export const DEFAULT_SETTINGS: Readonly<QueueSettings> = Object.freeze({
  visibilityMs: DEFAULTS.queueVisibilityMs,
  backoffMinMs: DEFAULTS.queueBackoffMinMs,
  backoffMaxMs: DEFAULTS.queueBackoffMaxMs,
  maxAttempts: DEFAULTS.queueMaxAttempts,
});

const FIELDS: Record<string, { field: keyof QueueSettings; min: number; max: number }> = {
  visibility_ms: { field: 'visibilityMs', min: 1, max: DEFAULTS.queueMaxVisibilityMs },
  backoff_min_ms: { field: 'backoffMinMs', min: 0, max: DEFAULTS.queueMaxBackoffMs },
  backoff_max_ms: { field: 'backoffMaxMs', min: 0, max: DEFAULTS.queueMaxBackoffMs },
  max_attempts: { field: 'maxAttempts', min: 1, max: DEFAULTS.queueMaxAttemptsLimit },
};

/** A settings patch from a client's JSON object; throws ERR_INVALID_ARGUMENT naming the field. */
export function parseSettingsPatch(body: unknown): Partial<QueueSettings> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw kvError('ERR_INVALID_ARGUMENT', 'queue settings must be a JSON object, e.g. {"max_attempts":5}');
  }
  const out: Partial<QueueSettings> = {};
  for (const [k, v] of Object.entries(body)) {
    const spec = FIELDS[k];
    if (!spec) throw kvError('ERR_INVALID_ARGUMENT', `unknown queue setting "${k}"; known: ${Object.keys(FIELDS).join(', ')}`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < spec.min || v > spec.max) {
      throw kvError('ERR_INVALID_ARGUMENT', `queue setting "${k}" must be an integer from ${spec.min} to ${spec.max}, got ${JSON.stringify(v)}`);
    }
    out[spec.field] = v;
  }
  return out;
}

/** Applies a patch and checks the fields together (min <= max). */
export function mergeSettings(cur: QueueSettings, patch: Partial<QueueSettings>): QueueSettings {
  const next = { ...cur, ...patch };
  if (next.backoffMinMs > next.backoffMaxMs) {
    throw kvError('ERR_INVALID_ARGUMENT', `backoff_min_ms (${next.backoffMinMs}) must not exceed backoff_max_ms (${next.backoffMaxMs})`);
  }
  return next;
}

export function encodeSettings(s: QueueSettings): Buffer {
  return Buffer.from(JSON.stringify(settingsJson(s)), 'utf8');
}

export function settingsJson(s: QueueSettings): Record<string, number> {
  return { visibility_ms: s.visibilityMs, backoff_min_ms: s.backoffMinMs, backoff_max_ms: s.backoffMaxMs, max_attempts: s.maxAttempts };
}

/** A stored settings record; anything unreadable falls back to the defaults field by field. */
export function decodeSettings(value: Buffer): QueueSettings {
  try {
    const o = JSON.parse(value.toString('utf8'));
    const s = { ...DEFAULT_SETTINGS };
    for (const [k, spec] of Object.entries(FIELDS)) {
      const v = o?.[k];
      if (typeof v === 'number' && Number.isInteger(v) && v >= spec.min && v <= spec.max) s[spec.field] = v;
    }
    return s.backoffMinMs <= s.backoffMaxMs ? s : { ...s, backoffMaxMs: s.backoffMinMs };
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}
