/**
 * `watchkv user | role | auth` against a watchkv server, next to etcdctl running the same script
 * against a real etcd 3.4: each step must print what etcdctl prints (or fail with the same
 * message), and the users and roles made this way must work for `--user` afterwards.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startEtcdTarget, startWatchkvTarget, type Target } from '../support/etcd-pair.ts';
import { ctl } from '../support/etcdctl.ts';
import { cli } from './support.ts';
import { ensureBuilt } from '../support/built-server.ts';

let etcd: Target;
let wk: Target;

test.before(async () => {
  ensureBuilt();
  [etcd, wk] = await Promise.all([startEtcdTarget(), startWatchkvTarget()]);
});
test.after(async () => {
  await Promise.all([etcd?.stop(), wk?.stop()]);
});

/** [arguments, stdin]: etcdctl's flags where ours differ are mapped in `ours`. */
const script: Array<[string[], string?]> = [
  [['user', 'add', 'root:rootpw']],
  [['user', 'add', 'alice', '--new-user-password=alicepw']],
  [['user', 'add', 'nopw', '--no-password']],
  [['user', 'add', 'bob', '--interactive=false'], 'bobpw\n'],
  [['user', 'grant-role', 'root', 'root']],
  [['role', 'add', 'app']],
  [['role', 'grant-permission', 'app', 'readwrite', '/app/', '--prefix']],
  [['role', 'grant-permission', 'app', 'read', '/cfg']],
  [['role', 'grant-permission', 'app', 'write', 'a', 'z']],
  [['role', 'grant-permission', 'app', 'read', '/from', '--from-key']],
  [['role', 'get', 'app']],
  [['user', 'grant-role', 'alice', 'app']],
  [['user', 'get', 'alice']],
  [['user', 'get', 'alice', '--detail']],
  [['user', 'get', 'root']],
  [['user', 'list']],
  [['role', 'list']],
  [['role', 'revoke-permission', 'app', '/cfg']],
  [['role', 'revoke-permission', 'app', 'a', 'z']],
  [['role', 'revoke-permission', 'app', '/from', '--from-key']],
  [['role', 'revoke-permission', 'app', 'nothere']],
  [['role', 'get', 'app']],
  [['user', 'get', 'nobody']],
  [['role', 'get', 'norole']],
  [['user', 'add', 'alice:again']],
  [['role', 'add', 'app']],
  [['auth', 'enable']],
  [['--user=alice:alicepw', 'put', '/app/x', '1']],
  [['--user=alice:alicepw', 'put', '/other', '1']],
  [['--user=root:rootpw', 'user', 'passwd', 'alice', '--interactive=false'], 'newpw\n'],
  [['--user=alice:newpw', 'get', '/app/x']],
  [['--user=root:rootpw', 'user', 'revoke-role', 'alice', 'app']],
  [['--user=alice:newpw', 'get', '/app/x']],
  [['--user=root:rootpw', 'user', 'delete', 'nopw']],
  [['--user=root:rootpw', 'role', 'delete', 'app']],
  [['--user=root:rootpw', 'auth', 'disable']],
  [['user', 'list']],
];

/** The same step for the watchkv CLI: it reads a non-terminal stdin without etcdctl's --interactive=false. */
function ours(args: string[]): string[] {
  return args.filter((a) => a !== '--interactive=false');
}

test('user, role and auth commands print what etcdctl prints, step by step', async () => {
  for (const [args, stdin] of script) {
    const [e, w] = await Promise.all([ctl(etcd, args, stdin ?? ''), cli(['--endpoints', wk.url, ...ours(args)], { input: stdin ?? '', built: true })]);
    const step = args.join(' ');
    const etcdError = /^Error: (.*)$/m.exec(e.stderr)?.[1];
    if (etcdError) {
      assert.is(w.code, 1, `${step}: etcd failed (${etcdError}), watchkv exited ${w.code}: ${w.stdout}${w.stderr}`);
      assert.ok(w.stderr.includes(etcdError), `${step}: etcd says "${etcdError}", watchkv says "${w.stderr.trim()}"`);
    } else {
      assert.is(w.stderr, '', `${step}: ${w.stderr}`);
      assert.is(w.code, 0, step);
      assert.is(w.stdout, e.stdout, `${step}: stdout differs`);
    }
  }
});

test('bad command lines get a usage error (exit 2) that says what is wrong', async () => {
  const bad: Array<[string[], RegExp]> = [
    [['role', 'grant-permission', 'r', 'readonly', 'k'], /permission type "readonly" is not one of read, write, readwrite/],
    [['role', 'grant-permission', 'r', 'read', 'k', 'z', '--prefix'], /give one of END, --prefix or --from-key/],
    [['user', 'add', 'x:pw', '--no-password'], /--no-password and a password were both given/],
    [['user', 'add', ':pw'], /the user name is empty/],
    [['user', 'add', 'x'], /no password for x on stdin/],
  ];
  for (const [args, msg] of bad) {
    const r = await cli(['--endpoints', wk.url, ...args], { built: true });
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
});

test.run();
