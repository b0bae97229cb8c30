/**
 * The API's own description: GET /openapi.yaml serves the spec this repository keeps true
 * (test/api/openapi.test.ts), and /docs/ renders it with Swagger UI (the swagger-ui-dist
 * package's browser files, served as they ship; only the page that starts it is ours).
 */
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const SPEC = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));
const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
/** The files the page below loads; nothing else of the package is served. */
const SWAGGER_FILES = new Set(['/swagger-ui.css', '/swagger-ui-bundle.js', '/swagger-ui-standalone-preset.js', '/favicon-32x32.png', '/favicon-16x16.png']);

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>watchkv API</title>
  <link rel="stylesheet" href="swagger-ui.css">
  <link rel="icon" type="image/png" href="favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="swagger-ui-bundle.js"></script>
  <script src="swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: '/openapi.yaml',
      dom_id: '#swagger-ui',
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: 'StandaloneLayout',
    });
  </script>
</body>
</html>
`;

export async function docsRoutes(app: FastifyInstance): Promise<void> {
  app.get('/openapi.yaml', async (_req, reply) => reply.header('content-type', 'application/yaml; charset=utf-8').send(await readFile(SPEC)));
  app.get('/docs', (_req, reply) => reply.redirect('/docs/', 302));
  app.get('/docs/', (_req, reply) => reply.header('content-type', 'text/html; charset=utf-8').send(PAGE));
  await app.register(fastifyStatic, {
    root: SWAGGER_DIR,
    prefix: '/docs/',
    index: false,
    // The explorer's registration already decorated reply.sendFile.
    decorateReply: false,
    allowedPath: (path) => SWAGGER_FILES.has(path),
  });
}
