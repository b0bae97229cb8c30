/**
 * Normalising and comparing etcd-vs-watchkv answers for the differential tests.
 *
 * - Identity fields (cluster_id, member_id, raft_term) differ between any two clusters and are
 *   dropped wherever a `header` appears, nested txn responses included.
 * - Sort ties: etcd sorts with Go's unstable sort.Sort, so kvs whose sort value is equal may come
 *   in any order. Such results are compared group by group: the sequence of sort values must be
 *   equal, and each group of equal values must hold the same kvs as a multiset; the last group of a
 *   result cut by `limit` may hold different members of the tie (only its size and value compare).
 * - Watch response grouping is timing-dependent in etcd (a catching-up watcher gets whatever its
 *   sync pass found in one response), so watch streams are compared as transcripts: every event on
 *   its own, every non-event response (created, canceled, progress) whole.
 */
import { isDeepStrictEqual } from 'node:util';

const IDENTITY = new Set(['cluster_id', 'member_id', 'raft_term']);

export function normalize(v: any): any {
  if (Array.isArray(v)) return v.map(normalize);
  if (v === null || typeof v !== 'object') return v;
  const out: any = {};
  for (const [k, x] of Object.entries(v)) {
    if (IDENTITY.has(k)) continue;
    out[k] = normalize(x);
  }
  return out;
}

const SORT_FIELD: Record<string, string> = { VERSION: 'version', CREATE: 'create_revision', MOD: 'mod_revision', VALUE: 'value', '1': 'version', '2': 'create_revision', '3': 'mod_revision', '4': 'value' };

/** The kv field a range sorts by, or undefined when the order is by key (no ties possible). */
export function sortField(req: any): string | undefined {
  const target = req.sort_target === undefined ? 'KEY' : String(req.sort_target);
  if (target === 'KEY' || target === '0') return undefined;
  return SORT_FIELD[target];
}

function sortValue(kv: any, field: string): string {
  const v = kv[field] ?? (field === 'value' ? '' : '0');
  return field === 'value' ? Buffer.from(v, 'base64').toString('latin1') : String(v);
}

function groups(kvs: any[], field: string): any[][] {
  const out: any[][] = [];
  for (const kv of kvs) {
    const last = out[out.length - 1];
    if (last && sortValue(last[0], field) === sortValue(kv, field)) last.push(kv);
    else out.push([kv]);
  }
  return out;
}

const byKey = (a: any, b: any) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Compares two range responses (normalised) honouring sort ties. Returns a difference or undefined. */
export function diffRange(req: any, a: any, b: any): string | undefined {
  const field = sortField(req);
  if (!field || !a?.kvs || !b?.kvs) return isDeepStrictEqual(a, b) ? undefined : 'range bodies differ';
  const { kvs: ka, ...ra } = a;
  const { kvs: kb, ...rb } = b;
  if (!isDeepStrictEqual(ra, rb)) return 'range bodies differ outside kvs';
  const ga = groups(ka, field);
  const gb = groups(kb, field);
  if (ga.length !== gb.length) return `sort groups differ: ${ga.length} vs ${gb.length}`;
  const truncated = Boolean(a.more);
  for (let i = 0; i < ga.length; i++) {
    const [x, y] = [ga[i]!, gb[i]!];
    if (x.length !== y.length || sortValue(x[0], field) !== sortValue(y[0], field)) return `sort group ${i} differs`;
    if (truncated && i === ga.length - 1) continue;
    if (!isDeepStrictEqual([...x].sort(byKey), [...y].sort(byKey))) return `sort group ${i} holds different kvs`;
  }
  return undefined;
}

/** Range requests inside a (possibly nested) txn body, in response order, for tie-aware compare. */
export function diffTxn(req: any, a: any, b: any): string | undefined {
  if (!a || !b || a.succeeded !== b.succeeded) return isDeepStrictEqual(a, b) ? undefined : 'txn bodies differ';
  const { responses: xa = [], ...ra } = a;
  const { responses: xb = [], ...rb } = b;
  if (!isDeepStrictEqual(ra, rb) || xa.length !== xb.length) return 'txn bodies differ';
  const ops: any[] = (a.succeeded ? req.success : req.failure) ?? [];
  for (let i = 0; i < xa.length; i++) {
    const op = ops[i] ?? {};
    const [p, q] = [xa[i], xb[i]];
    let d: string | undefined;
    if (op.request_range && p.response_range && q.response_range) d = diffRange(op.request_range, p.response_range, q.response_range);
    else if (op.request_txn && p.response_txn && q.response_txn) d = diffTxn(op.request_txn, p.response_txn, q.response_txn);
    else d = isDeepStrictEqual(p, q) ? undefined : `txn response ${i} differs`;
    if (d) return `${d} (txn op ${i})`;
  }
  return undefined;
}

/** Flattens one watch's responses into a transcript (see the file comment). */
export function transcript(messages: any[], watchId: string | undefined, dropIds = false): any[] {
  const out: any[] = [];
  for (const m of messages) {
    const r = m.result;
    if (!r) {
      out.push(normalize(m));
      continue;
    }
    // watch_id -1 is a stream-wide progress reply (for every watch) or a refused create (for none).
    const mine = (r.watch_id ?? '0') === (watchId ?? '0') || (r.watch_id === '-1' && !r.created);
    if (!mine) continue;
    if (r.events) {
      for (const ev of r.events) out.push({ event: ev });
      continue;
    }
    const n = normalize(r);
    if (dropIds) delete n.watch_id;
    out.push(n);
  }
  return out;
}

/**
 * Atomic: every revision's events for one watch arrive in one response, unless the response says
 * `fragment: true` (then the rest follows in the next). Returns violations.
 */
export function atomicViolations(messages: any[], watchId: string | undefined): string[] {
  const errs: string[] = [];
  const seen = new Set<string>();
  let open: string | undefined;
  for (const m of messages) {
    const r = m.result;
    if (!r?.events || (r.watch_id ?? '0') !== (watchId ?? '0')) continue;
    const revs = [...new Set(r.events.map((e: any) => String(e.kv.mod_revision)))] as string[];
    for (const rev of revs) {
      if (seen.has(rev) && rev !== open) errs.push(`revision ${rev} split across responses`);
      seen.add(rev);
    }
    open = r.fragment ? revs[revs.length - 1] : undefined;
  }
  return errs;
}
