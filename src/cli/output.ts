/**
 * Printing results in the three formats: `simple` (etcdctl's plain text), `json` (one JSON
 * document per result, or per event for watch), `table` (cli-table3).
 */
import Table from 'cli-table3';
import type { KeyValue, WatchEvent } from '../client/node.ts';

export function out(line: string): void {
  process.stdout.write(line + '\n');
}

export function kvJson(kv: KeyValue): Record<string, unknown> {
  const o: Record<string, unknown> = { key: kv.key, create_revision: kv.createRevision, mod_revision: kv.modRevision, version: kv.version, value: kv.value };
  if (kv.lease !== '0') o.lease = kv.lease;
  return o;
}

export function table(head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows.map((r) => r.map(String)));
  return t.toString();
}

/** A list of names (users, roles): one per line, `{"<field>":[…]}` in json, a one-column table. */
export function printNames(format: string, field: string, names: string[]): void {
  if (format === 'json') return out(JSON.stringify({ [field]: names }));
  if (format === 'table') return out(table([field.replace(/s$/, '').toUpperCase()], names.map((n) => [n])));
  for (const n of names) out(n);
}

export function printKvs(format: string, kvs: KeyValue[], o: { keysOnly?: boolean; printValueOnly?: boolean; revision: number; count: number; more: boolean }): void {
  if (format === 'json') return out(JSON.stringify({ revision: o.revision, count: o.count, more: o.more, kvs: kvs.map(kvJson) }));
  if (format === 'table') {
    if (kvs.length === 0) return;
    return out(table(['KEY', 'VALUE', 'CREATE', 'MOD', 'VERSION'], kvs.map((kv) => [kv.key, o.keysOnly ? '' : kv.value, kv.createRevision, kv.modRevision, kv.version])));
  }
  for (const kv of kvs) {
    if (o.printValueOnly) out(kv.value);
    else if (o.keysOnly) out(kv.key);
    else {
      out(kv.key);
      out(kv.value);
    }
  }
}

export function printEvent(format: string, ev: WatchEvent, prevKv: boolean): void {
  if (format === 'json') {
    const o: Record<string, unknown> = { type: ev.type.toUpperCase(), revision: ev.revision, kv: kvJson(ev.kv) };
    if (ev.prevKv) o.prev_kv = kvJson(ev.prevKv);
    return out(JSON.stringify(o));
  }
  // etcdctl's simple watch output: the type, then (with --prev-kv) the previous key and value, then the key and value.
  out(ev.type.toUpperCase());
  if (prevKv && ev.prevKv) {
    out(ev.prevKv.key);
    out(ev.prevKv.value);
  }
  out(ev.kv.key);
  out(ev.kv.value);
}
