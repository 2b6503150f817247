import { Hono } from 'hono';
import { html } from 'hono/html';
import { AppError } from '../../../errors.ts';
import { isUuid } from '../../../services/ids.ts';
import { listSubmissions } from '../../../services/submissions.ts';
import { href, render, stateBadge, utc } from '../layout.ts';
import type { DashboardPage } from '../pages.ts';
import type { DashboardEnv } from '../session.ts';

const pageSize = 50;

export const submissionsPage: DashboardPage = {
  nav: { path: '/submissions', label: 'Submissions' },
  routes: ({ ctx }) =>
    new Hono<DashboardEnv>().get('/', async (c) => {
      const account = c.req.query('account') || undefined;
      if (account !== undefined && !isUuid(account))
        throw new AppError('bad_request', 'Open the calls of an account from the accounts page.');
      const before = c.req.query('before') || undefined;
      const highlight = c.req.query('id');
      const list = await listSubmissions({
        ctx,
        limit: pageSize,
        ...(before ? { before } : {}),
        ...(account ? { accountId: account } : {}),
      });
      const last = list[list.length - 1];
      const body = html`<div class="table-wrap"><table>
          <caption>Calls to Microsoft (ApplyOfflineConversions / Adjustments), newest first</caption>
          <thead><tr><th scope="col">Started</th><th scope="col">Account</th><th scope="col">Operation</th><th scope="col" class="num">Items</th><th scope="col" class="num">Accepted</th><th scope="col" class="num">Rejected</th><th scope="col" class="num">Retried</th><th scope="col">Outcome</th><th scope="col">TrackingId</th><th scope="col">Error</th></tr></thead>
          <tbody>${list.map(
            (
              s,
            ) => html`<tr${s.id === highlight ? html` class="highlight" id="current" aria-current="true"` : ''}>
              <td>${utc(new Date(s.startedAt))}${s.durationMs !== null ? html` <span class="muted">${s.durationMs} ms</span>` : ''}</td>
              <td>${s.account ?? s.accountId}${s.dryRun ? html` <span class="badge state-held">dry run</span>` : ''}</td>
              <td>${s.operation}</td>
              <td class="num">${s.items}</td>
              <td class="num">${s.accepted}</td>
              <td class="num">${s.rejected}</td>
              <td class="num">${s.retried}</td>
              <td>${stateBadge(s.outcome)}</td>
              <td><code>${s.trackingId ?? ''}</code></td>
              <td>${s.errorCode ? html`<strong>${s.errorCode}</strong> ` : ''}${s.errorMessage ?? ''}${s.httpStatus && s.httpStatus >= 400 ? ` (HTTP ${s.httpStatus})` : ''}</td>
            </tr>`,
          )}</tbody>
        </table></div>
        ${list.length === 0 ? html`<p>No calls yet: the submitter makes one as soon as a row is due.</p>` : ''}
        ${list.length === pageSize && last ? html`<p class="pager"><a href="${href('/submissions', { before: last.startedAt, account })}">Older calls</a></p>` : ''}`;
      return render(c, { title: 'Submissions', active: '/submissions', body });
    }),
};
