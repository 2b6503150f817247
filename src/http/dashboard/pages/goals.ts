import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { goalReadyAt } from '../../../domain/conversion-rules.ts';
import { formatWindow } from '../../../domain/goal.ts';
import { formatValue } from '../../../domain/values.ts';
import { AppError } from '../../../errors.ts';
import type { ServiceContext } from '../../../services/context.ts';
import { createGoal, listGoals, updateGoal } from '../../../services/goals.ts';
import { isUuid } from '../../../services/ids.ts';
import { csrfInput, href, notice, render, stateBadge, utc } from '../layout.ts';
import type { DashboardPage } from '../pages.ts';
import type { DashboardEnv } from '../session.ts';

type Status = 200 | 409 | 422;

/** Readiness at Microsoft: created there or not, and from when it takes conversions. */
function readiness(g: Awaited<ReturnType<typeof listGoals>>[number], now: Date) {
  if (g.msadsError) return html`<span class="badge state-rejected">not created</span> ${g.msadsError}`;
  if (!g.msadsGoalId)
    return html`<span class="badge state-held">not at Microsoft yet</span> the submitter creates it before its first conversion`;
  const ready = goalReadyAt(g);
  return ready > now
    ? html`<span class="badge state-held">warming up</span> takes conversions from ${utc(ready)} (Microsoft waits 2 hours)`
    : html`<span class="badge state-accepted">ready</span> id <code>${g.msadsGoalId}</code>`;
}

async function goalsView(
  c: Context<DashboardEnv>,
  ctx: ServiceContext,
  { error, ok, values = {} }: { error?: string; ok?: string; values?: Record<string, string> } = {},
  status: Status = 200,
) {
  const goals = await listGoals({ ctx });
  const now = ctx.now();
  const v = (k: string) => values[k] ?? '';
  const body = html`${notice('error', error)}${notice('ok', ok)}
    <div class="table-wrap"><table>
      <caption>Offline conversion goals (rows name them in "Conversion Name")</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Revenue</th><th scope="col">Count</th><th scope="col">Window</th><th scope="col">At Microsoft</th><th scope="col">Change</th></tr></thead>
      <tbody>${goals.map(
        (g) => html`<tr>
          <td><a href="${href('/conversions', { goal: g.name })}">${g.name}</a></td>
          <td>${stateBadge(g.status)}</td>
          <td>${g.revenueType}${g.revenueValue !== null ? ` ${formatValue(g.revenueValue)}` : ''}${g.currency ? ` ${g.currency}` : ''}</td>
          <td>${g.countType}</td>
          <td>${formatWindow(g.conversionWindowMinutes)}</td>
          <td>${readiness(g, now)}</td>
          <td><form method="post" action="${href(`/goals/${g.id}/status`)}">
            ${csrfInput(c.var.shell.csrf)}
            <input type="hidden" name="status" value="${g.status === 'active' ? 'paused' : 'active'}" />
            <button type="submit" class="secondary" aria-label="${g.status === 'active' ? 'Pause' : 'Resume'} ${g.name}">${g.status === 'active' ? 'Pause' : 'Resume'}</button>
          </form></td>
        </tr>`,
      )}</tbody>
    </table></div>
    ${goals.length === 0 ? html`<p>No goals yet: create the first one below.</p>` : ''}
    <form method="post" action="${href('/goals')}" class="card">
      <h2>New goal</h2>
      ${csrfInput(c.var.shell.csrf)}
      <div class="fields">
        <div><label for="name">Name</label><input id="name" name="name" type="text" required maxlength="100" value="${v('name')}" /></div>
        <div><label for="revenueType">Revenue</label><select id="revenueType" name="revenueType">
          ${(['none', 'fixed', 'variable'] as const).map((t) => html`<option value="${t}"${v('revenueType') === t ? html` selected` : ''}>${{ none: 'No value', fixed: 'Fixed value', variable: 'Variable (default below)' }[t]}</option>`)}
        </select></div>
        <div><label for="value">Value</label><input id="value" name="value" type="text" inputmode="decimal" size="10" value="${v('value')}" /></div>
        <div><label for="currency">Currency</label><input id="currency" name="currency" type="text" size="4" maxlength="3" value="${v('currency')}" /></div>
        <div><label for="countType">Count</label><select id="countType" name="countType"><option value="all">All</option><option value="unique"${v('countType') === 'unique' ? html` selected` : ''}>Unique</option></select></div>
        <div><label for="window">Conversion window</label><input id="window" name="window" type="text" size="6" value="${v('window') || '30d'}" aria-describedby="window-help" /></div>
        <div><button type="submit">Create goal</button></div>
      </div>
      <p id="window-help" class="help">Window: 1 minute to 90 days, e.g. 30d, 12h or 90m. Microsoft takes conversions for a new goal 2 hours after it is created there; closeloop holds its rows until then.</p>
    </form>`;
  return render(c, { title: 'Goals', active: '/goals', body }, status);
}

export const goalsPage: DashboardPage = {
  nav: { path: '/goals', label: 'Goals' },
  routes: ({ ctx }) =>
    new Hono<DashboardEnv>()
      .get('/', (c) => goalsView(c, ctx, c.req.query('created') ? { ok: 'Goal created.' } : {}))
      .post('/', async (c) => {
        const f = c.var.form;
        const values = Object.fromEntries(
          ['name', 'revenueType', 'value', 'currency', 'countType', 'window'].map((k) => [k, f.get(k) ?? '']),
        );
        const valueText = values.value!.trim();
        const value = valueText === '' ? undefined : Number(valueText);
        try {
          if (value !== undefined && !Number.isFinite(value))
            throw new AppError(
              'validation_failed',
              `Value must be a number with a period as the decimal separator, like 25.50; got "${valueText}".`,
            );
          await createGoal({
            ctx,
            input: {
              name: values.name,
              revenue: {
                type: values.revenueType || 'none',
                ...(value !== undefined ? { value } : {}),
                ...(values.currency!.trim() ? { currency: values.currency!.trim() } : {}),
              },
              countType: values.countType || 'all',
              conversionWindow: values.window!.trim() || '30d',
            },
          });
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          return goalsView(c, ctx, { error: err.message, values }, err.code === 'conflict' ? 409 : 422);
        }
        return c.redirect(href('/goals', { created: '1' }), 303);
      })
      .post('/:id/status', async (c) => {
        const id = c.req.param('id');
        const status = c.var.form.get('status');
        if (!isUuid(id) || (status !== 'active' && status !== 'paused'))
          throw new AppError('bad_request', 'Pause or resume a goal with its button on the goals page.');
        await updateGoal({ ctx, idOrName: id, patch: { status } });
        return c.redirect(href('/goals'), 303);
      }),
};
