import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import { packageJson } from '../package-json.ts';
import { openApiDocument, type RouteDoc } from './openapi.ts';
import { accountDocs } from './routes/accounts.ts';
import { autoTaggingDocs } from './routes/auto-tagging.ts';
import { batchDocs } from './routes/batches.ts';
import { connectorDocs } from './routes/connectors.ts';
import { diagnosticsDocs } from './routes/diagnostics.ts';
import { goalDocs } from './routes/goals.ts';
import { scheduleDocs } from './routes/schedules.ts';
import { statusDocs } from './routes/status.ts';
import { submissionDocs } from './routes/submissions.ts';
import { uploadDocs } from './routes/uploads.ts';
import { webhookSourceDocs } from './routes/webhook-sources.ts';

/**
 * Every /api/v1 route's description. A route mounted in app.ts must have its docs added here: the test
 * test/http/openapi.test.ts lists the app's routes and fails naming any that is missing.
 */
export const apiRouteDocs: RouteDoc[] = [
  ...goalDocs,
  ...uploadDocs,
  ...batchDocs,
  ...submissionDocs,
  ...statusDocs,
  ...accountDocs,
  ...autoTaggingDocs,
  ...diagnosticsDocs,
  ...webhookSourceDocs,
  ...connectorDocs,
  ...scheduleDocs,
];

/** Swagger UI's files, served from node_modules (no CDN); read once, when first asked for. */
const assets: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
};
const cache = new Map<string, string>();
function asset(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    const folder = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
    text = readFileSync(join(folder, name), 'utf8');
    cache.set(name, text);
  }
  return text;
}

// The page runs no inline script: the start script is a file of its own, so the CSP allows 'self' only.
// Swagger UI sets style attributes, hence 'unsafe-inline' for styles (not scripts).
const csp =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>closeloop API reference</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
  </head>
  <body>
    <main id="swagger-ui"><noscript>The interactive reference needs JavaScript; the document itself is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</noscript></main>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
    <script src="/docs/assets/start.js"></script>
  </body>
</html>
`;

const start = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/api/v1/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'BaseLayout',
  });
});
`;

const packageVersion = (): string => packageJson().version;

/** GET /api/v1/openapi.json (public: it describes, it holds no data) and the interactive reference at /docs. */
export function apiDocsRoutes() {
  let document: string | undefined;
  const app = new Hono();
  app.get('/api/v1/openapi.json', (c) => {
    document ??= JSON.stringify(openApiDocument(apiRouteDocs, { version: packageVersion() }));
    return c.body(document, 200, { 'content-type': 'application/json; charset=utf-8' });
  });
  app.get('/docs', (c) => c.html(page, 200, { 'content-security-policy': csp }));
  app.get('/docs/assets/start.js', (c) =>
    c.body(start, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=3600' }),
  );
  app.get('/docs/assets/:name', (c) => {
    const name = c.req.param('name');
    const type = assets[name];
    if (!type) return c.notFound();
    return c.body(asset(name), 200, { 'content-type': type, 'cache-control': 'max-age=86400' });
  });
  return app;
}
