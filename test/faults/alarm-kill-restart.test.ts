/**
 * Alarms survive kill -9, as every acknowledged write does: the real server process with a small
 * --quota-backend-bytes is filled until a put is refused (NOSPACE raised by the quota itself),
 * killed at once, and restarted on the same dir; then CORRUPT is raised by hand and the process
 * killed again; then both are disarmed and the process killed a third time. After each restart
 * the alarms are exactly what was acknowledged, writes are refused or taken accordingly, and
 * every acknowledged put is still there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { b64, post } from '../support/http-client.ts';
import { spawnServer, waitReady, type ServerProcess } from './server-process.ts';

let dir = '';
test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'watchkv-alarm-kill-'));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const QUOTA = ['--quota-backend-bytes', String(256 * 1024)];

async function restart(s: ServerProcess | undefined): Promise<ServerProcess> {
  await s?.kill9();
  const next = await spawnServer(dir, QUOTA);
  await waitReady(next);
  return next;
}

async function alarms(url: string): Promise<string[]> {
  const r = await post(url, '/v3/maintenance/alarm', { action: 'GET' });
  assert.is(r.status, 200);
  return ((r.body.alarms ?? []) as Array<{ alarm?: string }>).map((a) => a.alarm ?? 'NONE').sort();
}

const put = (url: string, key: string, value: string) => post(url, '/v3/kv/put', { key: b64(key), value: b64(value) });

test('NOSPACE raised by the quota, CORRUPT raised by hand, and their disarming all survive kill -9', async () => {
  let s = await restart(undefined);
  try {
    // 1. Fill until the quota refuses a put; kill at once.
    const acked: string[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await put(s.url, `/fill/${i}`, 'x'.repeat(8000));
      if (r.status !== 200) {
        assert.equal([r.status, r.body.code, r.body.message], [429, 8, 'etcdserver: mvcc: database space exceeded']);
        break;
      }
      acked.push(`/fill/${i}`);
    }
    assert.ok(acked.length > 5 && acked.length < 200, `${acked.length} puts before the quota`);
    s = await restart(s);
    assert.equal(await alarms(s.url), ['NOSPACE']);
    assert.is((await put(s.url, 'small', 'v')).status, 429);
    const back = await post(s.url, '/v3/kv/range', { key: b64('/fill/'), range_end: b64('/fill0'), count_only: true });
    assert.is(Number(back.body.count), acked.length, 'every acknowledged put survived');

    // 2. CORRUPT by hand, acknowledged, then kill.
    const member = (await post(s.url, '/v3/maintenance/status', {})).body.header.member_id as string;
    assert.is((await post(s.url, '/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: member, alarm: 'CORRUPT' })).status, 200);
    s = await restart(s);
    assert.equal(await alarms(s.url), ['CORRUPT', 'NOSPACE']);
    const refused = await post(s.url, '/v3/kv/deleterange', { key: b64('/fill/'), range_end: b64('/fill0') });
    assert.equal([refused.status, refused.body.message], [500, 'etcdserver: corrupt cluster']);

    // 3. Make room and disarm both, acknowledged, then kill: writes are taken after the restart.
    for (const alarm of ['CORRUPT', 'NOSPACE']) assert.is((await post(s.url, '/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: member, alarm })).status, 200);
    assert.is((await post(s.url, '/v3/kv/deleterange', { key: b64('/fill/'), range_end: b64('/fill0') })).status, 200);
    const rev = Number((await post(s.url, '/v3/kv/range', { key: b64('x') })).body.header.revision);
    assert.is((await post(s.url, '/v3/kv/compaction', { revision: rev, physical: true })).status, 200);
    assert.is((await post(s.url, '/v3/maintenance/defragment', {})).status, 200);
    s = await restart(s);
    assert.equal(await alarms(s.url), []);
    assert.is((await put(s.url, 'small', 'v')).status, 200);
  } finally {
    await s.stop();
  }
});

test.run();
