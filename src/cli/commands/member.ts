/**
 * member list, printed as etcdctl prints it: "ID, started, name, peer addrs, client addrs,
 * is learner" with the id in hex (`-w json` keeps etcd's member fields, the id in decimal). A
 * watchkv server lists itself, with no peer URLs and the client URLs it advertises.
 */
import type { Command } from 'commander';
import { clientOf, formatOf, idHex } from '../context.ts';
import { out, table } from '../output.ts';

export function memberCommands(program: Command): void {
  const member = program
    .command('member')
    .description("the cluster's members (a watchkv server: itself)")
    .addHelpText('after', '\nExamples:\n  $ watchkv member list');

  member
    .command('list')
    .description('every member: id, name, peer and client URLs')
    .addHelpText('after', '\nExamples:\n  $ watchkv member list\n  89f3b1b6e7d2a1c0, started, default, , http://127.0.0.1:2379, false')
    .action(async (_o, cmd: Command) => {
      const members = await clientOf(cmd).members();
      const format = formatOf(cmd);
      if (format === 'json') {
        return out(JSON.stringify({ members: members.map((m) => ({ ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner })) }));
      }
      const rows = members.map((m) => [idHex(m.id), 'started', m.name, m.peerUrls.join(','), m.clientUrls.join(','), String(m.isLearner)]);
      if (format === 'table') return out(table(['ID', 'STATUS', 'NAME', 'PEER ADDRS', 'CLIENT ADDRS', 'IS LEARNER'], rows));
      for (const r of rows) out(r.join(', '));
    });
}
