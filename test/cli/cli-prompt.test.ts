/**
 * Passwords asked at the terminal, as etcdctl asks them (a pty made by util-linux `script`):
 * `user add NAME` and `user passwd NAME` ask twice, `--user NAME` asks once. What is typed is
 * never echoed; the answers differing, an empty answer and Ctrl-C each end with a clear line
 * and their exit code. Without a terminal nothing is asked (cli-auth*.test.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { inPty } from './support.ts';

let s: TestServer;
let E: string[];

test.before(async () => {
  s = await startTestServer({}, { memory: true });
  E = ['--endpoints', s.url];
  for (const [path, body] of [
    ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
    ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
    ['/v3/auth/enable', {}],
  ] as const) {
    const res = await fetch(s.url + path, { method: 'POST', body: JSON.stringify(body) });
    assert.ok(res.ok, `${path}: ${res.status}`);
  }
});
test.after(async () => {
  await s.stop();
});

type Pty = ReturnType<typeof inPty>;

/** Waits until the terminal shows `text` for the `n`th time. */
async function shown(p: Pty, text: string, n = 1): Promise<void> {
  for (let i = 0; p.output().split(text).length - 1 < n; i++) {
    if (i === 300) throw new Error(`never shown: ${JSON.stringify(text)}; the terminal: ${JSON.stringify(p.output())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Answers each prompt in turn once it shows, then returns the exit code and the terminal. */
async function answer(args: string[], prompts: Array<[string, string]>): Promise<{ code: number | null; screen: string }> {
  const p = inPty(args);
  const seen = new Map<string, number>();
  for (const [prompt, typed] of prompts) {
    const n = (seen.get(prompt) ?? 0) + 1;
    seen.set(prompt, n);
    await shown(p, prompt, n);
    p.type(typed);
  }
  return { code: await p.exited, screen: p.output() };
}

test('--user NAME asks for the password once, without echo', async () => {
  const r = await answer([...E, '--user', 'root', 'put', '/p/a', '1'], [['Password: ', 'rootpw\r']]);
  assert.is(r.code, 0, r.screen);
  assert.match(r.screen, /OK/);
  assert.not.match(r.screen, /rootpw/);
  const wrong = await answer([...E, '--user', 'root', 'get', '/p/a'], [['Password: ', 'nope\r']]);
  assert.is(wrong.code, 1, wrong.screen);
  assert.match(wrong.screen, /authentication failed, invalid user ID or password/);
  assert.not.match(wrong.screen, /nope/);
});

test('user add NAME asks twice; the new user then signs in with what was typed', async () => {
  const r = await answer([...E, '--user', 'root:rootpw', 'user', 'add', 'alice'], [
    ['Password of alice: ', 'alicx\u007fepw\r'], // a typo taken back with Backspace
    ['Type password of alice again for confirmation: ', 'alicepw\r'],
  ]);
  assert.is(r.code, 0, r.screen);
  assert.match(r.screen, /User alice created/);
  assert.not.match(r.screen, /alicepw|alicx/);
  const grant = await answer([...E, '--user', 'root:rootpw', 'user', 'grant-role', 'alice', 'root'], []);
  assert.is(grant.code, 0, grant.screen);
  const signIn = await answer([...E, '--user', 'alice', 'user', 'get', 'alice'], [['Password: ', 'alicepw\r']]);
  assert.is(signIn.code, 0, signIn.screen);
  assert.match(signIn.screen, /User: alice/);
});

test('user passwd NAME asks twice; the old password stops working', async () => {
  const r = await answer([...E, '--user', 'root:rootpw', 'user', 'passwd', 'alice'], [
    ['Password of alice: ', 'n3w\r'],
    ['Type password of alice again for confirmation: ', 'n3w\r'],
  ]);
  assert.is(r.code, 0, r.screen);
  assert.match(r.screen, /Password updated/);
  const old = await answer([...E, '--user', 'alice', 'user', 'get', 'alice'], [['Password: ', 'alicepw\r']]);
  assert.is(old.code, 1, old.screen);
  const now = await answer([...E, '--user', 'alice', 'user', 'get', 'alice'], [['Password: ', 'n3w\r']]);
  assert.is(now.code, 0, now.screen);
});

test('answers that differ, an empty one, and Ctrl-C: a clear line and the exit code', async () => {
  const differ = await answer([...E, '--user', 'root:rootpw', 'user', 'add', 'bob'], [
    ['Password of bob: ', 'one\r'],
    ['Type password of bob again for confirmation: ', 'two\r'],
  ]);
  assert.is(differ.code, 2, differ.screen);
  assert.match(differ.screen, /watchkv: given passwords are different/);
  const empty = await answer([...E, '--user', 'root:rootpw', 'user', 'add', 'bob'], [['Password of bob: ', '\r']]);
  assert.is(empty.code, 2, empty.screen);
  assert.match(empty.screen, /watchkv: no password given for bob/);
  const interrupted = await answer([...E, '--user', 'root', 'get', '/p/a'], [['Password: ', 'roo\u0003']]);
  assert.is(interrupted.code, 130, interrupted.screen);
  assert.match(interrupted.screen, /watchkv: interrupted at the password prompt/);
  // bob was never created
  const list = await answer([...E, '--user', 'root:rootpw', 'user', 'list'], []);
  assert.is(list.code, 0, list.screen);
  assert.not.match(list.screen, /bob/);
});

test.run();
