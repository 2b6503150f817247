import { Hono } from 'hono';
import { html } from 'hono/html';
import { listWebhookEvents, listWebhookSources, webhookPath } from '../../../services/webhook-sources.ts';
import { href, render, stateBadge, utc } from '../layout.ts';
import type { DashboardPage } from '../pages.ts';
import type { DashboardEnv } from '../session.ts';

/** Events shown per source: the latest; the rest through `closeloop webhooks events` or the API. */
const latestEvents = 10;

export const callTrackingPage: DashboardPage = {
  nav: { path: '/call-tracking', label: 'Call tracking' },
  routes: ({ ctx }) =>
    new Hono<DashboardEnv>().get('/', async (c) => {
      const sources = await listWebhookSources({ ctx });
      const withEvents = await Promise.all(
        sources.map(async ({ source, goalName }) => ({
          source,
          goalName,
          events: (await listWebhookEvents({ ctx, idOrName: source.id, limit: latestEvents })).events,
        })),
      );
      const body = html`${sources.length === 0 ? html`<p>No call-tracking sources yet: add one with <code>closeloop webhooks add &lt;provider&gt; …</code> (see docs/call-tracking.md).</p>` : ''}
        ${withEvents.map(
          ({ source: s, goalName, events }, i) => html`<section class="card" aria-labelledby="source-${i}">
            <h2 id="source-${i}">${s.name}</h2>
            <dl class="facts">
              <dt>Provider</dt><dd>${s.provider}</dd>
              <dt>Goal</dt><dd>${goalName}</dd>
              <dt>Endpoint path</dt><dd><code>${webhookPath(s)}</code> (the full URL, with its token where the provider needs one: <code>closeloop webhooks url "${s.name}"</code>)</dd>
              ${s.lastPollError ? html`<dt>Last poll error</dt><dd>${s.lastPollError}</dd>` : ''}
            </dl>
            <div class="table-wrap"><table>
              <caption>Latest ${latestEvents} calls of ${s.name}, newest first</caption>
              <thead><tr><th scope="col">Received</th><th scope="col">Call</th><th scope="col">Outcome</th><th scope="col">Reason</th><th scope="col" class="num">Value</th><th scope="col">Conversion</th></tr></thead>
              <tbody>${events.map(
                (e) => html`<tr>
                  <td>${utc(e.receivedAt)}</td>
                  <td>${e.providerCallId ?? ''}</td>
                  <td>${e.state === 'processed' ? stateBadge(e.outcome ?? 'processed') : stateBadge('pending')}</td>
                  <td>${e.reason ?? ''}</td>
                  <td class="num">${e.value ?? ''} ${e.currency ?? ''}</td>
                  <td>${e.conversionId ? html`<a href="${href(`/conversions/${e.conversionId}`)}">#${e.conversionId}</a>` : ''}${e.ledgerState ? html` ${stateBadge(e.ledgerState)}` : ''}</td>
                </tr>`,
              )}</tbody>
            </table></div>
            ${events.length === 0 ? html`<p>No calls received yet.</p>` : ''}
          </section>`,
        )}`;
      return render(c, { title: 'Call tracking', active: '/call-tracking', body });
    }),
};
