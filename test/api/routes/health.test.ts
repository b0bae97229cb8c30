/**
 * The probes through the app (inject): etcd's /health and /version bodies and content types, and
 * /health turning 503 {"health":"false"} once shutdown began (with /readyz), while /healthz
 * (liveness) stays 200.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildApp, closeWatchConnections } from '../../../src/app.ts';
import { openLessor } from '../../../src/lease/lessor.ts';
import { defaultConfig } from '../../../src/cli-options.ts';
import { randomIdentity } from '../../../src/api/identity.ts';
import { MemoryBackend } from '../../../src/backend/memory-backend.ts';
import { openKvStore } from '../../../src/mvcc/kv-store.ts';
import { openAuthStore } from '../../../src/auth/auth-store.ts';
import { WatchableStore } from '../../../src/watch/watchable-store.ts';

test('/health, /version; /health 503 once shutting down', async () => {
  const kv = await openKvStore(new MemoryBackend());
  const lessor = await openLessor(kv);
  const engine = new WatchableStore(kv);
  const { fastify, ctx } = await buildApp({ kv, engine, lessor, auth: await openAuthStore(kv), config: defaultConfig({ logLevel: 'silent' }), identity: randomIdentity() });
  const get = async (url: string) => {
    const r = await fastify.inject({ method: 'GET', url });
    return [r.statusCode, r.headers['content-type'], r.body];
  };
  assert.equal(await get('/health'), [200, 'text/plain; charset=utf-8', '{"health":"true"}']);
  assert.equal(await get('/version'), [200, 'application/json', '{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}']);
  closeWatchConnections(ctx);
  assert.equal(await get('/health'), [503, 'text/plain; charset=utf-8', '{"health":"false"}']);
  assert.is((await get('/readyz'))[0], 503);
  assert.is((await get('/healthz'))[0], 200);
  await fastify.close();
  await lessor.close();
  await engine.close();
  await kv.close();
});

test.run();
