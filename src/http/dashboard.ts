import { Hono } from 'hono';
import { html } from 'hono/html';
import type { ServiceContext } from '../services/context.ts';

/**
 * The start page. It shows no customer data (those are behind the API key), only what this instance
 * is and whether it is a dry run, with the commands to get going.
 */
export function dashboardRoutes(ctx: ServiceContext, { target }: { target: 'emulator' | 'microsoft' }) {
  return new Hono().get('/', (c) => {
    const dryRun = target === 'emulator';
    return c.html(html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>closeloop${dryRun ? ' (dry run)' : ''}</title>
    <style>
      body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
      .banner { background: #fff4ce; border: 1px solid #e0c000; padding: .6rem 1rem; border-radius: 6px; }
      code, pre { background: #f3f3f3; border-radius: 4px; padding: .1rem .3rem; }
      pre { padding: .6rem; white-space: pre-wrap; word-break: break-all; }
    </style>
  </head>
  <body>
    <h1>closeloop</h1>
    ${dryRun ? html`<p class="banner" role="status"><strong>Dry run.</strong> No Microsoft Advertising credentials are configured: nothing is sent to Microsoft; conversions wait in the ledger.</p>` : ''}
    <p>Offline conversion tracking for Microsoft Advertising. Database: <code>${ctx.database.kind}</code>.</p>
    <h2>Get started</h2>
    <pre>npx closeloop keys create --name me
npx closeloop goals add --name Purchase --revenue variable --value 10 --currency USD
curl -H "Authorization: Bearer $KEY" -F file=@conversions.csv http://localhost:8787/api/v1/uploads</pre>
    <p>API: <code>/api/v1/goals</code>, <code>/api/v1/uploads</code>, <code>/api/v1/conversions</code>,
      <code>/api/v1/adjustments</code> · Snippet: <code>/snippet.js</code> · Health: <a href="/health">/health</a></p>
  </body>
</html>`);
  });
}
