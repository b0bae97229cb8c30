/**
 * lease grant | revoke | timetolive | list | keep-alive, with IDs in hex as etcdctl prints them.
 */
import type { Command } from 'commander';
import { clientOf, formatOf, idHex, parseLeaseId, positiveInt } from '../context.ts';
import { out, table } from '../output.ts';
import { describe, EXIT } from '../exit-codes.ts';
import { NotFoundError } from '../../client/node.ts';

export function leaseCommands(program: Command): void {
  const lease = program
    .command('lease')
    .description('grant, revoke, inspect and keep alive leases')
    .addHelpText('after', '\nExamples:\n  $ watchkv lease grant 60\n  $ watchkv lease keep-alive 694d5765fc71500b\n  $ watchkv lease list');

  lease
    .command('grant')
    .description('grant a lease of <ttl> seconds; prints its ID (hex)')
    .argument('<ttl>', 'seconds')
    .addHelpText('after', '\nExamples:\n  $ watchkv lease grant 10\n  lease 694d5765fc71500b granted with TTL(10s)')
    .action(async (ttl: string, _o, cmd: Command) => {
      const g = await clientOf(cmd).lease.grant(positiveInt('ttl', ttl));
      if (formatOf(cmd) === 'json') return out(JSON.stringify({ id: g.id, id_hex: idHex(g.id), ttl: g.ttl }));
      out(`lease ${idHex(g.id)} granted with TTL(${g.ttl}s)`);
    });

  lease
    .command('revoke')
    .description('revoke a lease: every key attached to it is deleted')
    .argument('<id>', 'lease ID (hex)')
    .addHelpText('after', '\nExamples:\n  $ watchkv lease revoke 694d5765fc71500b')
    .action(async (id: string, _o, cmd: Command) => {
      const lid = parseLeaseId(id);
      const r = await clientOf(cmd).lease.revoke(lid);
      if (formatOf(cmd) === 'json') return out(JSON.stringify({ id: lid, revision: r.revision }));
      out(`lease ${idHex(lid)} revoked`);
    });

  lease
    .command('timetolive')
    .description("a lease's remaining time (and with --keys, its keys)")
    .argument('<id>', 'lease ID (hex)')
    .option('--keys', 'list the keys attached to the lease')
    .addHelpText('after', '\nExamples:\n  $ watchkv lease timetolive 694d5765fc71500b --keys')
    .action(async (id: string, o, cmd: Command) => {
      const lid = parseLeaseId(id);
      const t = await clientOf(cmd).lease.timeToLive(lid, { keys: o.keys });
      if (formatOf(cmd) === 'json') return out(JSON.stringify({ id: lid, ttl: t.ttl, granted_ttl: t.grantedTtl, keys: t.keys }));
      if (t.ttl === -1) return out(`lease ${idHex(lid)} already expired`);
      out(`lease ${idHex(lid)} granted with TTL(${t.grantedTtl}s), remaining(${t.ttl}s)${o.keys ? `, attached keys([${t.keys.join(' ')}])` : ''}`);
    });

  lease
    .command('list')
    .description('every live lease')
    .addHelpText('after', '\nExamples:\n  $ watchkv lease list -w table')
    .action(async (_o, cmd: Command) => {
      const ids = await clientOf(cmd).lease.leases();
      const format = formatOf(cmd);
      if (format === 'json') return out(JSON.stringify({ leases: ids.map((id) => ({ id, id_hex: idHex(id) })) }));
      if (format === 'table') return out(table(['ID'], ids.map((id) => [idHex(id)])));
      out(`found ${ids.length} leases`);
      for (const id of ids) out(idHex(id));
    });

  lease
    .command('keep-alive')
    .description('renew a lease every TTL/3 until Ctrl-C (or once with --once)')
    .argument('<id>', 'lease ID (hex)')
    .option('--once', 'renew once and exit')
    .addHelpText('after', '\nExamples:\n  $ watchkv lease keep-alive 694d5765fc71500b\n  lease 694d5765fc71500b keepalived with TTL(10)')
    .action(async (id: string, o, cmd: Command) => {
      const lid = parseLeaseId(id);
      const c = clientOf(cmd);
      const json = formatOf(cmd) === 'json';
      const print = (ttl: number): void => out(json ? JSON.stringify({ id: lid, ttl }) : `lease ${idHex(lid)} keepalived with TTL(${ttl})`);
      const first = await c.lease.keepAliveOnce(lid).catch((err: unknown) => {
        if (err instanceof NotFoundError) throw new NotFoundError(`lease ${idHex(lid)} expired or revoked`, err.grpcCode, err.httpStatus);
        throw err;
      });
      print(first);
      if (o.once) return;
      const { Lease } = await import('../../client/node.ts');
      const handle = new Lease(c.lease, lid, first);
      handle.on('keepalive', print);
      handle.on('error', (err) => process.stderr.write(`watchkv: renewal failed: ${describe(err)}; retrying\n`));
      process.exitCode = await new Promise<number>((resolve) => {
        const stop = (): void => {
          handle.close();
          resolve(EXIT.OK);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        handle.on('lost', (err) => {
          process.stderr.write(`watchkv: lease ${idHex(lid)} expired or revoked (${describe(err)})\n`);
          resolve(EXIT.SERVER_ERROR);
        });
        // The renewal timer is unref'd: keep the process alive while keeping the lease.
        const hold = setInterval(() => {}, 1 << 30);
        handle.on('lost', () => clearInterval(hold));
        process.once('SIGINT', () => clearInterval(hold));
        process.once('SIGTERM', () => clearInterval(hold));
      });
    });
}
