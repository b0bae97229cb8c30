/**
 * HTTP conditional requests on one key, with the key's mod_revision as its entity tag
 * (`ETag: "<mod_revision>"`, RFC 9110 §13):
 *   If-Match: "r1", "r2" | *      the key must exist with one of these mod_revisions (strong
 *                                 comparison: a weak tag W/"r" never matches) | must exist;
 *   If-None-Match: "r1" | *       the key must not be at one of these revisions | must be absent.
 * A PUT/DELETE whose condition fails answers 412; a GET whose If-None-Match matches answers 304.
 * An absent key has no tag: every If-Match fails on it and every If-None-Match holds.
 */
import type { KeyValue } from '../../mvcc/kv.ts';

export type TagList = '*' | Array<{ weak: boolean; tag: string }>;

/** Parses an If-Match / If-None-Match value; undefined when the header is absent or blank. */
export function parseTags(header: string | string[] | undefined): TagList | undefined {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text === undefined || text.trim() === '') return undefined;
  if (text.trim() === '*') return '*';
  const out: Array<{ weak: boolean; tag: string }> = [];
  // entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc excludes '"', so tags hold no comma.
  for (const m of text.matchAll(/(W\/)?"([^"]*)"/g)) out.push({ weak: m[1] !== undefined, tag: m[2]! });
  return out;
}

export const etagOf = (kv: KeyValue): string => `"${kv.modRevision}"`;

/** Does If-Match hold for the key's current state (undefined = absent)? */
export function ifMatchHolds(tags: TagList, kv: KeyValue | undefined): boolean {
  if (!kv) return false;
  if (tags === '*') return true;
  return tags.some((t) => !t.weak && t.tag === String(kv.modRevision));
}

/** Does If-None-Match hold (the key is NOT at any listed tag; `*`: the key is absent)? */
export function ifNoneMatchHolds(tags: TagList, kv: KeyValue | undefined): boolean {
  if (!kv) return true;
  if (tags === '*') return false;
  return !tags.some((t) => t.tag === String(kv.modRevision));
}
