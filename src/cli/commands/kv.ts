/**
 * get, put, del, compaction: etcdctl's KV commands.
 */
import type { Command } from 'commander';
import { clientOf, formatOf, parseLeaseId, positiveInt } from '../context.ts';
import { out, printKvs, kvJson } from '../output.ts';
import { UsageError } from '../exit-codes.ts';
import { readStdin } from '../stdin.ts';

export function kvCommands(program: Command): void {
  program
    .command('get')
    .description('read a key, a range [key, end), or every key with a prefix')
    .argument('<key>', 'the key (with --prefix: the prefix; "" with --prefix: every key)')
    .argument('[end]', 'read the range [key, end)')
    .option('--prefix', 'every key starting with <key>')
    .option('--from-key', 'every key >= <key>')
    .option('--rev <revision>', 'read at this revision (0 = newest)', '0')
    .option('--limit <n>', 'at most n keys (0 = no limit)', '0')
    .option('--keys-only', 'print keys only')
    .option('--print-value-only', 'print values only (simple format)')
    .option('--count-only', 'print only how many keys there are')
    .option('--order <order>', 'ASCEND or DESCEND (sorted by --sort-by)')
    .option('--sort-by <target>', 'KEY, VERSION, CREATE, MODIFY or VALUE')
    .addHelpText(
      'after',
      `
Examples:
  $ watchkv get /app/config                 # key, then value
  $ watchkv get /app/ --prefix --keys-only  # every key under /app/
  $ watchkv get /app/a /app/c               # the range [/app/a, /app/c)
  $ watchkv get /app/config --rev 42 -w json`,
    )
    .action(async (key: string, end: string | undefined, o, cmd: Command) => {
      const c = clientOf(cmd);
      const sortTarget = o.sortBy ? sortTargetOf(o.sortBy) : undefined;
      const order = o.order ? String(o.order).toUpperCase() : sortTarget ? 'ASCEND' : undefined;
      if (order && order !== 'ASCEND' && order !== 'DESCEND') throw new UsageError(`--order: "${o.order}" is not ASCEND or DESCEND`);
      const r = await c.range(key, {
        prefix: o.prefix,
        fromKey: o.fromKey,
        end,
        revision: positiveInt('--rev', o.rev),
        limit: positiveInt('--limit', o.limit),
        keysOnly: o.keysOnly,
        countOnly: o.countOnly,
        sortTarget,
        sortOrder: order as 'ASCEND' | 'DESCEND' | undefined,
      });
      if (o.countOnly) {
        return formatOf(cmd) === 'json' ? out(JSON.stringify({ revision: r.revision, count: r.count })) : out(String(r.count));
      }
      printKvs(formatOf(cmd), r.kvs, { keysOnly: o.keysOnly, printValueOnly: o.printValueOnly, revision: r.revision, count: r.count, more: r.more });
    });

  program
    .command('put')
    .description('write a key (the value from the argument, or from stdin when omitted)')
    .argument('<key>')
    .argument('[value]', 'the value; read from stdin when omitted')
    .option('--lease <id>', 'attach the key to this lease (hex ID)')
    .option('--prev-kv', 'print the previous key-value')
    .addHelpText(
      'after',
      `
Examples:
  $ watchkv put /app/config '{"color":"blue"}'
  $ cat big.json | watchkv put /app/blob
  $ watchkv put /locks/a me --lease 694d5765fc71500b`,
    )
    .action(async (key: string, value: string | undefined, o, cmd: Command) => {
      const c = clientOf(cmd);
      const v = value ?? (await readStdin());
      const r = await c.put(key, v, { lease: o.lease ? parseLeaseId(o.lease) : undefined, prevKv: o.prevKv });
      if (formatOf(cmd) === 'json') return out(JSON.stringify({ revision: r.revision, ...(r.prevKv ? { prev_kv: kvJson(r.prevKv) } : {}) }));
      out('OK');
      if (o.prevKv && r.prevKv) {
        out(r.prevKv.key);
        out(r.prevKv.value);
      }
    });

  program
    .command('del')
    .description('delete a key, a range [key, end), or every key with a prefix; prints how many')
    .argument('<key>')
    .argument('[end]')
    .option('--prefix', 'every key starting with <key>')
    .option('--from-key', 'every key >= <key>')
    .option('--prev-kv', 'print the deleted key-values')
    .addHelpText(
      'after',
      `
Examples:
  $ watchkv del /app/config
  $ watchkv del /app/ --prefix --prev-kv`,
    )
    .action(async (key: string, end: string | undefined, o, cmd: Command) => {
      const c = clientOf(cmd);
      const r = await c.delete(key, { prefix: o.prefix, fromKey: o.fromKey, end, prevKv: o.prevKv });
      if (formatOf(cmd) === 'json') return out(JSON.stringify({ revision: r.revision, deleted: r.deleted, prev_kvs: r.prevKvs.map(kvJson) }));
      out(String(r.deleted));
      for (const kv of r.prevKvs) {
        out(kv.key);
        out(kv.value);
      }
    });

  program
    .command('compaction')
    .description('drop the history older than a revision')
    .argument('<revision>')
    .option('--physical', 'wait until the history is gone from disk')
    .addHelpText('after', '\nExamples:\n  $ watchkv compaction 1234\n  $ watchkv compaction 1234 --physical')
    .action(async (rev: string, o, cmd: Command) => {
      const c = clientOf(cmd);
      const revision = positiveInt('revision', rev);
      await c.compact(revision, { physical: o.physical });
      if (formatOf(cmd) === 'json') return out(JSON.stringify({ compacted: revision }));
      out(`compacted revision ${revision}`);
    });
}

function sortTargetOf(s: string): 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' {
  const t = s.toUpperCase();
  if (t === 'MODIFY' || t === 'MOD') return 'MOD';
  if (t === 'KEY' || t === 'VERSION' || t === 'CREATE' || t === 'VALUE') return t;
  throw new UsageError(`--sort-by: "${s}" is not KEY, VERSION, CREATE, MODIFY or VALUE`);
}
