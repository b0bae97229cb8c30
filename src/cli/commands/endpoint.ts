/**
 * endpoint status | health, per endpoint given with --endpoints (each asked on its own).
 */
import type { Command } from 'commander';
import { endpointsOf, formatOf, globals, idHex } from '../context.ts';
import { out, table } from '../output.ts';
import { describe, EXIT } from '../exit-codes.ts';
import { WatchKvClient } from '../../client/node.ts';

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}

/** `endpoint status` and its alias `status`. */
const statusAction = async (_o: unknown, cmd: Command): Promise<void> => {
  const ms = Number(globals(cmd).commandTimeout);
  const rows: Array<{ endpoint: string; id: string; version: string; dbSize: number; revision: number; raftTerm: number; errors: string }> = [];
  let failed = 0;
  for (const e of endpointsOf(globals(cmd))) {
    try {
      const c = new WatchKvClient({ endpoints: [e], requestTimeoutMs: ms });
      const s = await c.status();
      rows.push({ endpoint: c.endpoints[0]!, id: idHex(s.header.memberId), version: s.version, dbSize: s.dbSize, revision: s.header.revision, raftTerm: s.raftTerm, errors: s.errors.join(', ').trim() });
    } catch (err) {
      failed++;
      process.stderr.write(`watchkv: ${e}: ${describe(err)}\n`);
    }
  }
  const format = formatOf(cmd);
  // Raised alarms (etcdctl's ERRORS column) are shown only when some endpoint has one.
  const errors = rows.some((r) => r.errors !== '');
  if (format === 'json') out(JSON.stringify(rows));
  else if (format === 'table') {
    const head = ['ENDPOINT', 'ID', 'VERSION', 'DB SIZE', 'REVISION', 'RAFT TERM', ...(errors ? ['ERRORS'] : [])];
    out(table(head, rows.map((r) => [r.endpoint, r.id, r.version, bytes(r.dbSize), r.revision, r.raftTerm, ...(errors ? [r.errors] : [])])));
  } else for (const r of rows) out(`${r.endpoint}, ${r.id}, ${r.version}, ${bytes(r.dbSize)}, ${r.revision}, ${r.raftTerm}${errors ? `, ${r.errors}` : ''}`);
  if (failed > 0) process.exitCode = rows.length === 0 ? EXIT.UNREACHABLE : EXIT.SERVER_ERROR;
};

export function endpointCommands(program: Command): void {
  const endpoint = program.command('endpoint').description("the endpoints' status and health").addHelpText('after', '\nExamples:\n  $ watchkv endpoint health\n  $ watchkv --endpoints 127.0.0.1:2379,127.0.0.1:22379 endpoint status -w table');

  endpoint
    .command('status')
    .description('version, database size, revision and member ID of each endpoint')
    .addHelpText('after', '\nExamples:\n  $ watchkv endpoint status -w table')
    .action(statusAction);

  endpoint
    .command('health')
    .description('whether each endpoint answers a read (exit 1 when any does not)')
    .addHelpText('after', '\nExamples:\n  $ watchkv endpoint health\n  http://127.0.0.1:2379 is healthy: successfully committed proposal: took = 1.2ms')
    .action(async (_o, cmd: Command) => {
      const ms = Number(globals(cmd).commandTimeout);
      const results: Array<{ endpoint: string; health: boolean; took: string; error?: string }> = [];
      for (const e of endpointsOf(globals(cmd))) {
        const c = new WatchKvClient({ endpoints: [e], requestTimeoutMs: ms });
        const t0 = performance.now();
        try {
          await c.get('health'); // etcdctl's probe: a linearizable read of "health"
          results.push({ endpoint: c.endpoints[0]!, health: true, took: `${(performance.now() - t0).toFixed(1)}ms` });
        } catch (err) {
          results.push({ endpoint: c.endpoints[0]!, health: false, took: `${(performance.now() - t0).toFixed(1)}ms`, error: describe(err) });
        }
      }
      const format = formatOf(cmd);
      if (format === 'json') out(JSON.stringify(results));
      else if (format === 'table') out(table(['ENDPOINT', 'HEALTH', 'TOOK', 'ERROR'], results.map((r) => [r.endpoint, String(r.health), r.took, r.error ?? ''])));
      else
        for (const r of results) {
          if (r.health) out(`${r.endpoint} is healthy: successfully committed proposal: took = ${r.took}`);
          else process.stderr.write(`${r.endpoint} is unhealthy: failed to commit proposal: ${r.error}\n`);
        }
      if (results.some((r) => !r.health)) process.exitCode = EXIT.SERVER_ERROR;
    });

  program
    .command('status')
    .description('the same as "endpoint status"')
    .addHelpText('after', '\nExamples:\n  $ watchkv status -w json')
    .action(statusAction);
}
