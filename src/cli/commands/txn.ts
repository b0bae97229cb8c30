/**
 * txn: etcdctl's transaction format, from stdin (or typed interactively with -i):
 *
 *   compares, one per line, then an empty line:   mod("key1") > "0"
 *   success requests, then an empty line:         put key1 "new value"
 *   failure requests, then an empty line or EOF:  get key1
 *
 * Compare targets: value|val, mod|m, create|c, version|ver, lease; operators = != < >.
 * Requests: put <key> <value> [--lease=<hex>], get <key> [end] [--prefix], del <key> [end] [--prefix].
 * Prints SUCCESS or FAILURE, then each response as put/get/del print it.
 */
import type { Command } from 'commander';
import { clientOf, formatOf, parseLeaseId } from '../context.ts';
import { out, kvJson, printKvs } from '../output.ts';
import { UsageError } from '../exit-codes.ts';
import { lines } from '../stdin.ts';
import { op, type CompareOp, type CompareTarget, type TxnBuilder, type TxnOp, type TxnResult } from '../../client/node.ts';

const TARGETS: Record<string, CompareTarget> = { value: 'value', val: 'value', mod: 'mod', m: 'mod', create: 'create', c: 'create', version: 'version', ver: 'version', lease: 'lease' };
const OPS: Record<string, CompareOp> = { '=': '==', '==': '==', '!=': '!=', '<': '<', '>': '>' };

/** Splits a line into arguments; "double quoted" parts are unquoted with JSON string rules. */
export function argify(line: string): string[] {
  const args: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/y;
  let i = 0;
  for (;;) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) return args;
    re.lastIndex = i;
    const m = re.exec(line);
    if (!m) throw new UsageError(`cannot parse "${line}" (an unclosed quote?)`);
    if (m[1] !== undefined) {
      try {
        args.push(JSON.parse(`"${m[1]}"`) as string);
      } catch {
        throw new UsageError(`bad quoted string "${m[1]}"`);
      }
    } else args.push(m[2]!);
    i = re.lastIndex;
  }
}

export function parseCompare(line: string, txn: TxnBuilder): void {
  const m = /^\s*(\w+)\(\s*"((?:[^"\\]|\\.)*)"\s*\)\s*(!=|==|=|<|>)\s*(.+?)\s*$/.exec(line);
  if (!m) throw new UsageError(`bad compare "${line}" (expected e.g. mod("key") > "0")`);
  const target = TARGETS[m[1]!.toLowerCase()];
  if (!target) throw new UsageError(`bad compare target "${m[1]}" (use value, mod, create, version or lease)`);
  const key = JSON.parse(`"${m[2]}"`) as string;
  const [raw, ...rest] = argify(m[4]!);
  if (raw === undefined || rest.length > 0) throw new UsageError(`bad compare value in "${line}"`);
  let value: string = raw;
  if (target === 'lease') value = parseLeaseId(raw);
  else if (target !== 'value' && !/^\d+$/.test(raw)) throw new UsageError(`bad compare value "${raw}": ${target} compares a number`);
  txn.if(key, target, OPS[m[3]!]!, value);
}

export function parseRequest(line: string): TxnOp {
  const args = argify(line);
  const flags = args.filter((a) => a.startsWith('--'));
  const pos = args.filter((a) => !a.startsWith('--'));
  const [verb, key, third] = pos;
  const prefix = flags.includes('--prefix');
  const lease = flags.find((f) => f.startsWith('--lease='));
  if (key === undefined) throw new UsageError(`bad request "${line}" (expected put, get or del with a key)`);
  switch (verb) {
    case 'put':
      if (third === undefined || pos.length > 3) throw new UsageError(`bad request "${line}" (put <key> <value>)`);
      return op.put(key, third, lease ? { lease: parseLeaseId(lease.slice('--lease='.length)) } : {});
    case 'get':
      return op.get(key, { prefix, end: third });
    case 'del':
    case 'delete':
      return op.delete(key, { prefix, end: third });
    default:
      throw new UsageError(`bad request "${line}": "${verb}" is not put, get or del`);
  }
}

export function printTxn(format: string, r: TxnResult): void {
  if (format === 'json') {
    const responses = r.responses.map((x) =>
      x.type === 'range' ? { type: 'get', kvs: x.kvs.map(kvJson), count: x.count } : x.type === 'delete' ? { type: 'del', deleted: x.deleted } : { type: x.type },
    );
    return out(JSON.stringify({ succeeded: r.succeeded, revision: r.revision, responses }));
  }
  out(r.succeeded ? 'SUCCESS' : 'FAILURE');
  for (const x of r.responses) {
    out('');
    if (x.type === 'put') out('OK');
    else if (x.type === 'delete') out(String(x.deleted));
    else if (x.type === 'range') printKvs('simple', x.kvs, { revision: x.revision, count: x.count, more: x.more });
  }
}

export function txnCommand(program: Command): void {
  program
    .command('txn')
    .description('a compare-and-swap transaction in etcdctl\'s format, read from stdin')
    .option('-i, --interactive', 'prompt for each section')
    .addHelpText(
      'after',
      `
Input: compares, an empty line, success requests, an empty line, failure requests.

Examples:
  $ printf 'version("/lock") = "0"\\n\\nput /lock me\\n\\nget /lock\\n' | watchkv txn
  SUCCESS

  OK
  $ watchkv txn -i`,
    )
    .action(async (o, cmd: Command) => {
      const c = clientOf(cmd);
      const txn = c.txn();
      const sections = ['compares:', 'success requests (get, put, del):', 'failure requests (get, put, del):'];
      let section = 0;
      const success: TxnOp[] = [];
      const failure: TxnOp[] = [];
      if (o.interactive) process.stderr.write(sections[0] + '\n');
      for await (const raw of lines()) {
        const line = raw.trim();
        if (line === '') {
          section++;
          if (section > 2) break;
          if (o.interactive) process.stderr.write('\n' + sections[section] + '\n');
          continue;
        }
        if (section === 0) parseCompare(line, txn);
        else (section === 1 ? success : failure).push(parseRequest(line));
      }
      txn.then(...success).else(...failure);
      printTxn(formatOf(cmd), await txn.commit());
    });
}
