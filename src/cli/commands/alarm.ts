/**
 * alarm list | disarm, printed as etcdctl prints them ("memberID:N alarm:NOSPACE"): a full store
 * raises NOSPACE and refuses writes that add data until the alarm is disarmed.
 */
import type { Command } from 'commander';
import { clientOf, formatOf } from '../context.ts';
import { out, table } from '../output.ts';
import type { Alarm } from '../../client/node.ts';

function print(cmd: Command, alarms: Alarm[]): void {
  const format = formatOf(cmd);
  if (format === 'json') return out(JSON.stringify({ alarms: alarms.map((a) => ({ member_id: a.memberId, alarm: a.alarm })) }));
  if (format === 'table') return out(table(['MEMBER ID', 'ALARM'], alarms.map((a) => [a.memberId, a.alarm])));
  for (const a of alarms) out(`memberID:${a.memberId} alarm:${a.alarm}`);
}

export function alarmCommands(program: Command): void {
  const alarm = program
    .command('alarm')
    .description('list and disarm alarms (NOSPACE: the space quota was reached)')
    .addHelpText('after', '\nExamples:\n  $ watchkv alarm list\n  $ watchkv alarm disarm');

  alarm
    .command('list')
    .description('the raised alarms')
    .addHelpText('after', '\nExamples:\n  $ watchkv alarm list\n  memberID:10276657743932975437 alarm:NOSPACE')
    .action(async (_o, cmd: Command) => print(cmd, await clientOf(cmd).alarms()));

  alarm
    .command('disarm')
    .description('disarm every raised alarm (make room first: compaction, defrag)')
    .addHelpText('after', '\nExamples:\n  $ watchkv alarm disarm')
    .action(async (_o, cmd: Command) => print(cmd, await clientOf(cmd).disarmAlarms()));
}
