/**
 * The web explorer: the static files of src/ui (plain HTML, CSS and browser JavaScript, no build
 * step) at /ui/, through @fastify/static; `/` and `/ui` redirect there. The page itself uses only
 * the public API (/v1/kv, /v1/watch, /readyz), like any other client.
 */
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { fileURLToPath } from 'node:url';

const UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

export async function uiRoutes(app: FastifyInstance): Promise<void> {
  // No index of directories; caching by ETag/Last-Modified so an upgrade is seen at once.
  await app.register(fastifyStatic, { root: UI_DIR, prefix: '/ui/', index: 'index.html', maxAge: 0, cacheControl: true });
  app.get('/', (_req, reply) => reply.redirect('/ui/', 302));
  app.get('/ui', (_req, reply) => reply.redirect('/ui/', 302));
}
