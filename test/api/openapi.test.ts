/**
 * OpenAPI drift: every route the app registers must be documented in openapi.yaml (path and
 * method), and every documented path must exist. The `paths:` block is read by hand: path keys
 * are the two-space-indented `/...:` lines, methods the four-space-indented keys under them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { buildApp } from '../../src/app.ts';
import { openLessor } from '../../src/lease/lessor.ts';
import { openAuthStore } from '../../src/auth/auth-store.ts';
import { defaultConfig } from '../../src/cli-options.ts';
import { randomIdentity } from '../../src/api/identity.ts';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { openKvStore } from '../../src/mvcc/kv-store.ts';
import { WatchableStore } from '../../src/watch/watchable-store.ts';

function documented(): Set<string> {
  const text = readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8');
  const out = new Set<string>();
  let inPaths = false;
  let path = '';
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) inPaths = line.startsWith('paths:');
    if (!inPaths) continue;
    const p = /^  (\/\S*):\s*$/.exec(line);
    // A trailing `{key}`, `{path}` or `{file}` is a fastify wildcard route (`/v1/kv/*`: the key
    // may hold slashes); any other `{param}` is a fastify parameter (`/v1/queues/:name`).
    if (p) path = p[1]!.replace(/\{(key|path|file)\}$/, '*').replace(/\{([^}/]+)\}/g, ':$1');
    const m = /^    (get|post|put|delete|patch):/.exec(line);
    if (m && path) out.add(`${m[1]!.toUpperCase()} ${path}`);
  }
  return out;
}

test('every app route is in openapi.yaml and vice versa', async () => {
  const routes = new Set<string>();
  const kv = await openKvStore(new MemoryBackend());
  const lessor = await openLessor(kv);
  const engine = new WatchableStore(kv);
  const { fastify } = await buildApp({
    kv,
    engine,
    lessor,
    auth: await openAuthStore(kv),
    config: defaultConfig({ logLevel: 'silent' }),
    identity: randomIdentity(),
    onRoute: (method, url) => routes.add(`${method} ${url}`),
  });
  await fastify.ready();
  const docs = documented();
  assert.ok(routes.size >= 10, `routes seen: ${[...routes]}`);
  for (const r of routes) assert.ok(docs.has(r), `route ${r} is missing from openapi.yaml`);
  for (const d of docs) assert.ok(routes.has(d), `openapi.yaml documents ${d}, which the app lacks`);
  await fastify.close();
  await lessor.close();
  await engine.close();
  await kv.close();
});

test('the drift check can fail: a missing path is reported', () => {
  const docs = documented();
  assert.not.ok(docs.has('POST /v3/no/such/route'));
  assert.ok(docs.has('POST /v3/kv/range'));
});

test.run();
