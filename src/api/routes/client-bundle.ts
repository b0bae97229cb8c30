/**
 * GET /ui/client.js: the client SDK (src/client, universal entry) as one ES module for browsers,
 * so a page can `import { WatchKvClient } from '/ui/client.js'`. Bundled with esbuild on the
 * first request and kept in memory: the bundle always matches the running server's SDK, from the
 * TypeScript sources (tsx) or the built JavaScript (dist), with no generated file to keep fresh.
 * Served with CORS open, as the gateway routes are, so pages on other origins can import it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

let bundle: Promise<{ code: string; etag: string }> | undefined;

function entryPoint(): string {
  for (const name of ['index.ts', 'index.js']) {
    const p = fileURLToPath(new URL(`../../client/${name}`, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('the client SDK sources are missing (src/client/index.ts)');
}

async function build(): Promise<{ code: string; etag: string }> {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [entryPoint()],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const code = out.outputFiles[0]!.text;
  let h = 0;
  for (let i = 0; i < code.length; i++) h = (Math.imul(h, 31) + code.charCodeAt(i)) | 0;
  return { code, etag: `"${(h >>> 0).toString(16)}-${code.length}"` };
}

export function clientBundleRoute(app: FastifyInstance): void {
  app.get('/ui/client.js', async (req, reply) => {
    bundle ??= build();
    let b: { code: string; etag: string };
    try {
      b = await bundle;
    } catch (err) {
      bundle = undefined; // try again on the next request
      throw err;
    }
    reply.header('access-control-allow-origin', '*').header('cache-control', 'no-cache').header('etag', b.etag);
    if (req.headers['if-none-match'] === b.etag) return reply.code(304).send();
    return reply.type('text/javascript; charset=utf-8').send(b.code);
  });
}
