import { Hono } from 'hono';
import { html } from 'hono/html';
import { AppError } from '../../../errors.ts';
import { syncSoon } from '../../../services/connector-schedule.ts';
import { getConnector, listConnectors, listRuns } from '../../../services/connectors.ts';
import { listGoals } from '../../../services/goals.ts';
import { csrfInput, href, notice, render, stateBadge, utc } from '../layout.ts';
import type { DashboardPage } from '../pages.ts';
import type { DashboardEnv } from '../session.ts';

/** "3 no click ID, 1 lost" from a run's skipped (or rejected) counts; empty when none. */
const byReason = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');

export const connectorsPage: DashboardPage = {
  nav: { path: '/connectors', label: 'Connectors' },
  routes: ({ ctx, log, crm }) =>
    new Hono<DashboardEnv>()
      .get('/', async (c) => {
        const [connectors, goals] = await Promise.all([listConnectors({ ctx }), listGoals({ ctx })]);
        const goalName = new Map(goals.map((g) => [g.id, g.name]));
        const rows = await Promise.all(
          connectors.map(async (k) => ({ k, run: (await listRuns({ ctx, idOrName: k.id, limit: 1 }))[0] })),
        );
        const syncing = c.req.query('syncing');
        const body = html`${notice('ok', syncing ? `Sync of ${syncing} started; reload to see its run.` : undefined)}
          ${crm ? '' : notice('error', 'Connectors are not served by this process: start closeloop serve with CLOSELOOP_SECRET_KEY set to sync them.')}
          <div class="table-wrap"><table>
            <caption>CRM connectors: each reads won deals into the ledger on its interval</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Goal</th><th scope="col" class="num">Interval</th><th scope="col">Next sync</th><th scope="col">Last run</th><th scope="col">Counts</th><th scope="col">Last error</th><th scope="col">Sync</th></tr></thead>
            <tbody>${rows.map(
              ({ k, run }) => html`<tr>
                <th scope="row">${k.name}</th>
                <td>${k.kind}</td>
                <td>${goalName.get(k.goalId) ?? k.goalId}</td>
                <td class="num">${k.intervalMinutes} min</td>
                <td>${utc(k.nextSyncAt)}</td>
                <td>${run ? html`${stateBadge(run.status)} ${run.mode}, ${utc(run.startedAt)}` : 'never'}</td>
                <td>${
                  run
                    ? html`<ul class="counts">
                  <li>${run.counts.dealsRead} deals read</li>
                  <li>${run.counts.conversions} conversions</li>
                  <li>${run.counts.restates} restates</li>
                  <li>${run.counts.retracts} retracts</li>
                  ${byReason(run.counts.skipped) ? html`<li>skipped: ${byReason(run.counts.skipped)}</li>` : ''}
                  ${byReason(run.counts.rejected) ? html`<li>refused by the checks: ${byReason(run.counts.rejected)}</li>` : ''}
                </ul>`
                    : ''
                }</td>
                <td>${k.lastError ?? run?.error ?? ''}${k.failures > 1 ? ` (${k.failures} failures in a row)` : ''}</td>
                <td><form method="post" action="${href(`/connectors/${k.id}/sync`)}">
                  ${csrfInput(c.var.shell.csrf)}
                  <button type="submit" class="secondary" aria-label="Sync now: ${k.name}"${crm ? '' : html` disabled`}>Sync now</button>
                </form></td>
              </tr>`,
            )}</tbody>
          </table></div>
          ${connectors.length === 0 ? html`<p>No connectors yet: add one with <code>closeloop connectors add salesforce|hubspot …</code> (see docs/crm.md).</p>` : ''}`;
        return render(c, { title: 'Connectors', active: '/connectors', body });
      })
      .post('/:id/sync', async (c) => {
        if (!crm)
          throw new AppError(
            'service_unavailable',
            'Connectors are not served by this process: start closeloop serve with CLOSELOOP_SECRET_KEY set.',
          );
        const k = await getConnector({ ctx, idOrName: c.req.param('id') });
        // Not awaited: a sync may take minutes; its run and any error are recorded on the connector.
        void syncSoon({ ctx, log, ...crm, id: k.id, trigger: 'api' });
        return c.redirect(href('/connectors', { syncing: k.name }), 303);
      }),
};
