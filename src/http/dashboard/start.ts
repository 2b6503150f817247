import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { accounts } from '../../db/schema/index.ts';
import type { ServiceContext } from '../../services/context.ts';
import { isThrottlePause } from '../../submit/answer.ts';
import { assets, contentSecurityPolicy } from './layout.ts';
import { base } from './session.ts';

/**
 * The start page (public). It shows no customer data (those are behind the API key), only what this instance
 * is and whether it is a dry run, with the commands to get going.
 */
export function startPage(ctx: ServiceContext, { target }: { target: 'emulator' | 'microsoft' }) {
  return new Hono().get('/', async (c) => {
    const dryRun = target === 'emulator';
    // Only counts leave the database here: the start page is public.
    const rows = await ctx.database.db
      .select({
        target: accounts.target,
        autoTagging: accounts.autoTagging,
        authStatus: accounts.authStatus,
        pausedUntil: accounts.pausedUntil,
        pauseReason: accounts.pauseReason,
      })
      .from(accounts)
      .where(eq(accounts.customerId, ctx.customerId));
    const live = rows.filter((a) => a.target === 'microsoft');
    const taggingOff = live.filter((a) => a.autoTagging === false).length;
    const needSignIn = live.filter((a) => a.authStatus === 'reconsent_needed').length;
    // Paused by an error to fix (a refused credential, an answer that is not Microsoft's); throttling
    // pauses end by themselves within about a minute and are left out.
    const at = ctx.now();
    const paused = rows.filter(
      (a) => a.pausedUntil !== null && a.pausedUntil > at && !isThrottlePause(a.pauseReason),
    ).length;
    c.header('content-security-policy', contentSecurityPolicy);
    return c.html(html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>closeloop${dryRun ? ' (dry run)' : ''}</title>
    <link rel="stylesheet" href="${assets.css}" />
    <link rel="icon" href="${assets.icon}" type="image/svg+xml" />
  </head>
  <body class="start">
    <main>
    <h1>closeloop</h1>
    <p><a class="button" href="${base}">Open the dashboard</a> (sign in with an API key or the admin password)</p>
    ${dryRun ? html`<p class="banner" role="status"><strong>Dry run.</strong> No Microsoft Advertising account is configured: conversions are sent to the built-in emulator and nothing reaches Microsoft. Set the <code>MSADS_*</code> variables (docs/sending.md, “Setting up an account”) to send for real.</p>` : html`<p>Sending to Microsoft Advertising: ${live.length} account${live.length === 1 ? '' : 's'}.</p>`}
    ${taggingOff > 0 ? html`<p class="banner" role="alert"><strong>MSCLKID auto-tagging is off</strong> for ${taggingOff} account${taggingOff === 1 ? '' : 's'}: Microsoft adds no click ID to ad clicks, so there is nothing to send. Run <code>closeloop accounts auto-tagging --enable</code>.</p>` : ''}
    ${paused > 0 ? html`<p class="banner" role="alert"><strong>Sending is paused</strong> for ${paused} account${paused === 1 ? '' : 's'} by an error to fix: <code>closeloop accounts list</code> (or <code>GET /api/v1/accounts</code>) says why. Their conversions wait in the ledger; once it is fixed, <code>closeloop accounts resume</code> (or <em>Resume now</em> on the dashboard's accounts page) sends them at once.</p>` : ''}
    ${needSignIn > 0 ? html`<p class="banner" role="alert"><strong>Sign-in needed</strong> for ${needSignIn} account${needSignIn === 1 ? '' : 's'}: run <code>closeloop auth login</code>. Their conversions wait in the ledger.</p>` : ''}
    <p>Offline conversion tracking for Microsoft Advertising. Database: <code>${ctx.database.kind}</code>.</p>
    <h2>Get started</h2>
    <pre>npx closeloop keys create --name me
npx closeloop goals add --name Purchase --revenue variable --value 10 --currency USD
curl -H "Authorization: Bearer $KEY" -F file=@conversions.csv http://localhost:8787/api/v1/uploads</pre>
    <p>API: <code>/api/v1/goals</code>, <code>/api/v1/uploads</code>, <code>/api/v1/conversions</code>,
      <code>/api/v1/adjustments</code>, <code>/api/v1/status</code>, <code>/api/v1/submissions</code>, <code>/api/v1/accounts</code> · Snippet: <code>/snippet.js</code> · Health: <a href="/health">/health</a></p>
    </main>
  </body>
</html>`);
  });
}
