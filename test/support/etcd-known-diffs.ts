/**
 * Oracle for known difference #1 of the differential test: etcd 3.4's txn duplicate-key check
 * (checkIntervals in etcdserver/apply.go, re-stated here, not copied) builds a delete's interval as
 * [key, range_end), so a from-key delete (range_end "\0") becomes the EMPTY interval [key, "\0")
 * and a put of a key inside the deleted range slips through. watchkv treats "\0" as +∞ there too.
 *
 * The check is run twice — with etcd's reading of "\0" and with the correct one. A txn is a
 * known-difference case exactly when etcd's reading accepts it and the correct one refuses it.
 *
 * Rules (etcd 3.4, confirmed live): per branch, a level's deletes are collected first; each nested
 * txn's puts (then and else, not against each other) must not repeat an earlier put nor fall in the
 * deletes gathered so far, after which its puts and deletes join the level's; finally the level's
 * own puts are checked the same way. (So "put k" in one nested txn and "delete k" in a LATER
 * sibling passes, while the reverse order is a duplicate.)
 */

interface Interval {
  lo: Buffer;
  /** Exclusive; null = +∞. */
  hi: Buffer | null;
}

type Mode = 'etcd' | 'correct';
class Duplicate extends Error {}

function delInterval(d: any, mode: Mode): Interval | undefined {
  const key = Buffer.from(d.key ?? '', 'base64');
  if (d.range_end === undefined || d.range_end === '') return { lo: key, hi: Buffer.concat([key, Buffer.from([0])]) };
  const end = Buffer.from(d.range_end, 'base64');
  if (end.length === 1 && end[0] === 0) return mode === 'correct' ? { lo: key, hi: null } : undefined;
  return Buffer.compare(key, end) < 0 ? { lo: key, hi: end } : undefined;
}

function hits(dels: Interval[], k: Buffer): boolean {
  return dels.some((iv) => Buffer.compare(k, iv.lo) >= 0 && (iv.hi === null || Buffer.compare(k, iv.hi) < 0));
}

function check(ops: any[] = [], mode: Mode): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) {
    if (!op.request_delete_range) continue;
    const iv = delInterval(op.request_delete_range, mode);
    if (iv) dels.push(iv);
  }
  const puts = new Set<string>();
  const add = (k: string) => {
    if (puts.has(k) || hits(dels, Buffer.from(k, 'base64'))) throw new Duplicate();
    puts.add(k);
  };
  for (const op of ops) {
    if (!op.request_txn) continue;
    const then = check(op.request_txn.success, mode);
    const other = check(op.request_txn.failure, mode);
    // Then and else are checked against what came before, not against each other (only one runs).
    for (const k of [...then.puts, ...other.puts]) {
      if (puts.has(k) || hits(dels, Buffer.from(k, 'base64'))) throw new Duplicate();
    }
    for (const k of [...then.puts, ...other.puts]) puts.add(k);
    dels.push(...then.dels, ...other.dels);
  }
  for (const op of ops) if (op.request_put) add(Buffer.from(op.request_put.key ?? '', 'base64').toString('base64'));
  return { puts, dels };
}

function accepts(body: any, mode: Mode): boolean {
  try {
    check(body.success, mode);
    check(body.failure, mode);
    return true;
  } catch (err) {
    if (err instanceof Duplicate) return false;
    throw err;
  }
}

/**
 * True when etcd 3.4 passes this txn's duplicate check only because of its "\0" bug (etcd may
 * still refuse it later for another reason, e.g. a future revision in the executed branch).
 */
export function isKnownFromKeyDuplicate(body: any): boolean {
  return accepts(body, 'etcd') && !accepts(body, 'correct');
}
