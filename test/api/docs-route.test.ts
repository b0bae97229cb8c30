/** /openapi.yaml serves the repository's spec; /docs/ loads Swagger UI's files and nothing else of its package. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { startTestServer, type TestServer } from '../support/test-server.ts';

let s: TestServer;
test.before(async () => {
  s = await startTestServer({}, { memory: true });
});
test.after(async () => s.stop());

test('GET /openapi.yaml is the spec file', async () => {
  const r = await fetch(`${s.url}/openapi.yaml`);
  assert.is(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^application\/yaml/);
  assert.is(await r.text(), readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8'));
});

test('/docs/ loads every file it references; other files of the package are not served', async () => {
  const redirect = await fetch(`${s.url}/docs`, { redirect: 'manual' });
  assert.is(redirect.status, 302);
  assert.is(redirect.headers.get('location'), '/docs/');
  const page = await (await fetch(`${s.url}/docs/`)).text();
  assert.match(page, /url: '\/openapi.yaml'/);
  const refs = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(refs.length >= 3, refs.join());
  // Bodies are read to the end: an unread 1.7 MB file would hold its connection (and this process) open.
  const status = async (path: string): Promise<number> => {
    const r = await fetch(`${s.url}${path}`);
    await r.arrayBuffer();
    return r.status;
  };
  for (const ref of refs) assert.is(await status(`/docs/${ref}`), 200, ref);
  for (const other of ['package.json', 'index.html', 'swagger-initializer.js', '../package.json']) assert.is(await status(`/docs/${other}`), 404, other);
});

test.run();
