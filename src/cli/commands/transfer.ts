/**
 * export / import of a prefix as NDJSON, one key per line:
 *
 *   {"key":"/app/a","value":"1"}                          UTF-8 text
 *   {"key_b64":"L2FwcC9i","value_b64":"/wA="}             bytes that are not UTF-8 text
 *
 * (a line may also carry "lease" as a hex ID; import attaches it, the lease must exist).
 * export reads one consistent snapshot (every page at one revision) and prints that revision on
 * stderr; import writes in txns of up to 100 keys (or 512 KiB), in file order, so a key that
 * appears twice ends with its last value. Progress bars go to stderr, and only on a terminal.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import type { SingleBar } from 'cli-progress';
import { createRequire } from 'node:module';
import { clientOf, idHex, parseLeaseId } from '../context.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { lines } from '../stdin.ts';
import { fromBase64, op, type KeyValue, type TxnOp } from '../../client/node.ts';

const BATCH_KEYS = 100;
const BATCH_BYTES = 512 * 1024;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isText(b: Uint8Array): boolean {
  try {
    strictUtf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

export function exportLine(kv: KeyValue): string {
  const k = kv.keyBytes;
  const v = kv.valueBytes;
  const o: Record<string, string> = isText(k) && isText(v) ? { key: kv.key, value: kv.value } : { key_b64: kv.keyBase64, value_b64: kv.raw.value ?? '' };
  if (kv.lease !== '0') o.lease = idHex(kv.lease);
  return JSON.stringify(o);
}

export function parseImportLine(line: string, n: number): { key: Uint8Array | string; value: Uint8Array | string; lease?: string } {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line);
  } catch (err) {
    throw new UsageError(`line ${n}: not JSON (${(err as Error).message})`);
  }
  if (typeof o !== 'object' || o === null) throw new UsageError(`line ${n}: not a JSON object`);
  const key = typeof o.key === 'string' ? o.key : typeof o.key_b64 === 'string' ? fromBase64(o.key_b64) : undefined;
  const value = typeof o.value === 'string' ? o.value : typeof o.value_b64 === 'string' ? fromBase64(o.value_b64) : undefined;
  if (key === undefined || key.length === 0) throw new UsageError(`line ${n}: no "key" (or "key_b64")`);
  if (value === undefined) throw new UsageError(`line ${n}: no "value" (or "value_b64")`);
  return { key, value, lease: typeof o.lease === 'string' ? parseLeaseId(o.lease) : undefined };
}

function bar(label: string, total: number): SingleBar | undefined {
  if (!process.stderr.isTTY) return undefined;
  // Required on first use: only a transfer on a terminal draws a bar, every command pays an import.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const b = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {percentage}% | {value}/{total} keys | {eta_formatted} left`, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  b.start(total, 0);
  return b;
}

/** Ctrl-C during a transfer: stop the bar, say what is incomplete, exit 130. */
function onInterrupt(what: string, b: () => SingleBar | undefined): () => void {
  const handler = (): void => {
    b()?.stop();
    process.stderr.write(`\nwatchkv: ${what} interrupted: incomplete\n`);
    process.exit(EXIT.INTERRUPTED);
  };
  process.once('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

export function transferCommands(program: Command): void {
  program
    .command('export')
    .description('write every key under a prefix as NDJSON (one consistent snapshot)')
    .argument('<prefix>', 'the prefix ("" for every key)')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--page-size <n>', 'keys per read', '1000')
    .addHelpText(
      'after',
      `
Examples:
  $ watchkv export /app/ > app.ndjson
  $ watchkv export "" -o all.ndjson      # a progress bar on stderr when it is a terminal`,
    )
    .action(async (prefix: string, o, cmd: Command) => {
      const c = clientOf(cmd);
      const pageSize = Number(o.pageSize);
      if (!Number.isSafeInteger(pageSize) || pageSize <= 0) throw new UsageError(`--page-size: "${o.pageSize}" is not a positive integer`);
      const total = (await c.range(prefix, { prefix: true, countOnly: true })).count;
      let progress: SingleBar | undefined;
      const done = onInterrupt('export', () => progress);
      progress = bar('export', total);
      const sink = o.output ? createWriteStream(o.output) : process.stdout;
      let n = 0;
      let revision = 0;
      for await (const page of c.kv.pages(prefix, { prefix: true, pageSize })) {
        revision = page.revision;
        const text = page.kvs.map((kv) => exportLine(kv) + '\n').join('');
        if (!sink.write(text)) await new Promise<void>((r) => sink.once('drain', () => r()));
        n += page.kvs.length;
        progress?.update(n, { total: Math.max(total, n) });
        if (progress && n > total) progress.setTotal(n);
      }
      progress?.stop();
      done();
      if (o.output) await new Promise<void>((r, j) => (sink as ReturnType<typeof createWriteStream>).end((e?: Error | null) => (e ? j(e) : r())));
      process.stderr.write(`exported ${n} keys at revision ${revision}\n`);
    });

  program
    .command('import')
    .description('write the keys of an NDJSON file (from export) to the server')
    .argument('[file]', 'the NDJSON file (default: stdin)')
    .addHelpText(
      'after',
      `
Examples:
  $ watchkv import app.ndjson
  $ watchkv export /app/ | watchkv --endpoints 10.0.0.2:2379 import`,
    )
    .action(async (file: string | undefined, _o, cmd: Command) => {
      const c = clientOf(cmd);
      let total = 0;
      if (file && process.stderr.isTTY) for await (const l of lines(createReadStream(file))) if (l.trim()) total++;
      let progress: SingleBar | undefined;
      const done = onInterrupt('import', () => progress);
      progress = total > 0 ? bar('import', total) : undefined;
      let batch: TxnOp[] = [];
      let keys = new Set<string>();
      let bytes = 0;
      let n = 0;
      let written = 0;
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        await c.txn().then(...batch).commit();
        written += batch.length;
        progress?.update(written);
        batch = [];
        keys = new Set();
        bytes = 0;
      };
      for await (const line of lines(file ? createReadStream(file) : process.stdin)) {
        n++;
        if (line.trim() === '') continue;
        const r = parseImportLine(line, n);
        const id = typeof r.key === 'string' ? `s${r.key}` : `b${Buffer.from(r.key).toString('base64')}`;
        // A txn may not write one key twice: a repeated key starts the next txn (file order kept).
        if (keys.has(id) || batch.length >= BATCH_KEYS || bytes + line.length > BATCH_BYTES) await flush();
        batch.push(op.put(r.key, r.value, { lease: r.lease }));
        keys.add(id);
        bytes += line.length;
      }
      await flush();
      progress?.stop();
      done();
      process.stderr.write(`imported ${written} keys\n`);
    });
}
