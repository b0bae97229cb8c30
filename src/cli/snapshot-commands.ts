/**
 * `watchkv snapshot save|restore|status`, like etcdctl's: save asks a running server over HTTP
 * and verifies what it got before calling it done; restore and status work offline on a file.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { decodeRecord, RECORD_PREFIX } from '../mvcc/kv-codec.ts';
import { readSnapshot, type SnapshotSummary } from '../snapshot/snapshot-reader.ts';
import { REVISION_BYTES } from '../mvcc/revision.ts';
import { downloadSnapshot } from './snapshot-download.ts';
import { authOf, clientOf, DEFAULT_ENDPOINT, endpointsOf, rootOf, tlsOf, type GlobalOptions } from './context.ts';

export interface SnapshotStatus extends SnapshotSummary {
  /** Live keys at the snapshot's revision. */
  keys: number;
  checksumOk: true;
}

/** Verifies the file and counts its live keys (each key's newest record decides). */
export async function snapshotStatus(file: string): Promise<SnapshotStatus> {
  const live = new Set<string>();
  const summary = await readSnapshot(file, (entries) => {
    for (const [key, value] of entries) {
      if (key.length !== 1 + REVISION_BYTES || key[0] !== RECORD_PREFIX) continue;
      const rec = decodeRecord(key, value);
      const id = rec.kv.key.toString('latin1');
      if (rec.tombstone) live.delete(id);
      else live.add(id);
    }
  });
  return { ...summary, keys: live.size, checksumOk: true };
}

function printStatus(s: SnapshotStatus, format: string): void {
  if (format === 'json') {
    process.stdout.write(
      JSON.stringify({ revision: s.revision, compactRevision: s.compactRevision, keys: s.keys, records: s.records, size: s.bytes, sha256: s.sha256, checksumOk: s.checksumOk, createdAt: new Date(s.createdMs).toISOString() }) + '\n',
    );
    return;
  }
  const rows: Array<[string, string]> = [
    ['REVISION', String(s.revision)],
    ['COMPACT REVISION', String(s.compactRevision)],
    ['KEYS', String(s.keys)],
    ['RECORDS', String(s.records)],
    ['SIZE', `${s.bytes} bytes`],
    ['SHA256', s.sha256],
    ['CHECKSUM', 'OK'],
    ['CREATED', new Date(s.createdMs).toISOString()],
  ];
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(17)} ${v}\n`);
}

export function snapshotCommands(program: Command): void {
  const snapshot = program.command('snapshot').description('save, restore and inspect snapshots of a watchkv store');

  snapshot
    .command('save')
    .argument('<file>', 'where to write the snapshot (must not exist)')
    .option('--endpoints <urls>', `the server to copy (first URL of a comma-separated list; default: $WATCHKV_ENDPOINTS or ${DEFAULT_ENDPOINT})`)
    .description('copy a running server into FILE (consistent, point in time; writes go on)')
    .action(async (file: string, opts: { endpoints?: string }, cmd: Command) => {
      const endpoint = endpointsOf({ endpoints: opts.endpoints } as GlobalOptions)[0]!;
      if (existsSync(file)) throw new Error(`${file} already exists; snapshot save does not overwrite`);
      const root = rootOf(cmd).opts() as GlobalOptions;
      const tls = tlsOf(root);
      // With --user, sign in through the SDK (root's token: snapshots need the root role).
      const token = authOf(root) ? await clientOf(cmd).authToken() : undefined;
      const part = `${file}.part`;
      try {
        await downloadSnapshot(endpoint, part, { token, tls });
        const s = await snapshotStatus(part);
        await rename(part, file);
        process.stdout.write(`Snapshot saved at ${file} (revision ${s.revision}, ${s.keys} keys, ${s.bytes} bytes, sha256 ${s.sha256})\n`);
      } catch (err) {
        await rm(part, { force: true });
        throw err;
      }
    });

  snapshot
    .command('restore')
    .argument('<file>', 'a snapshot file')
    .requiredOption('--data-dir <dir>', 'a new or empty data directory to create the store in')
    .description('create a data directory from a snapshot (offline; the server must not run on it)')
    .action(async (file: string, opts: { dataDir: string }) => {
      // Loaded here: it brings LevelDB's native module, which no other command needs at start-up.
      const { restoreSnapshot } = await import('../snapshot/snapshot-restore.ts');
      const s = await restoreSnapshot(file, opts.dataDir);
      process.stdout.write(`Restored ${file} into ${opts.dataDir} (revision ${s.revision}, ${s.records} records)\n`);
    });

  snapshot
    .command('status')
    .argument('<file>', 'a snapshot file')
    .option('-w, --write-out <format>', 'table or json', 'table')
    .description('verify a snapshot file and print its revision, keys, size and checksum')
    .action(async (file: string, opts: { writeOut: string }) => {
      if (opts.writeOut !== 'table' && opts.writeOut !== 'json') throw new Error(`--write-out: "${opts.writeOut}" is not one of table, json`);
      printStatus(await snapshotStatus(file), opts.writeOut);
    });
}
