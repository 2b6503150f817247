import { Hono } from 'hono';
import { html } from 'hono/html';
import { filtersQuery } from '../../../services/conversion-search.ts';
import { type Comparison, compareWithMicrosoft } from '../../../services/msads-comparison.ts';
import { conversionOutcomes, lastDays } from '../../../services/overview.ts';
import { legend, outcomeChart, seriesOf } from '../chart.ts';
import { href, notice, render } from '../layout.ts';
import type { DashboardPage } from '../pages.ts';
import type { DashboardEnv } from '../session.ts';

const periods = [7, 30, 90] as const;

export const overviewPage: DashboardPage = {
  nav: { path: '', label: 'Overview' },
  routes: ({ ctx, clientFor }) =>
    new Hono<DashboardEnv>().get('/', async (c) => {
      const days = periods.find((p) => String(p) === c.req.query('days')) ?? 30;
      const { from, to } = lastDays(ctx.now(), days);
      const [s, microsoft] = await Promise.all([
        conversionOutcomes({ ctx, from, to }),
        compareWithMicrosoft({ ctx, clientFor, days }),
      ]);
      const notCounted = s.reasons.reduce((a, r) => a + r.count, 0);
      const series = seriesOf(s.days);
      const body = html`<form method="get" action="${href('')}" class="actions">
          <label for="days">Period</label>
          <select id="days" name="days">${periods.map((p) => html`<option value="${p}"${p === days ? html` selected` : ''}>last ${p} days</option>`)}</select>
          <button type="submit" class="secondary">Show</button>
          <span class="muted">${from} to ${to} (UTC days of the conversion time)</span>
        </form>
        <section aria-labelledby="per-day">
          <h2 id="per-day">Conversions per day by outcome</h2>
          <div class="chart">${outcomeChart(s.days)}</div>
          ${legend(s.days)}
          <details>
            <summary>The chart's numbers as a table</summary>
            <div class="table-wrap"><table>
              <caption>Conversions per day by outcome</caption>
              <thead><tr><th scope="col">Day</th>${series.map((x) => html`<th scope="col" class="num">${x.outcome}</th>`)}</tr></thead>
              <tbody>${s.days
                .filter((d) => Object.keys(d.counts).length > 0)
                .map(
                  (d) =>
                    html`<tr><th scope="row">${d.day}</th>${series.map((x) => html`<td class="num">${d.counts[x.outcome] ?? 0}</td>`)}</tr>`,
                )}</tbody>
            </table></div>
          </details>
        </section>
        <section aria-labelledby="fewer">
          <h2 id="fewer">Why fewer conversions?</h2>
          <p>${s.received + s.refusedByChecks} received, <strong>${s.accepted} accepted by Microsoft</strong>; ${notCounted} did not count (yet), for these reasons:</p>
          <div class="table-wrap"><table>
            <caption>Every reason a conversion of the period did not count, with its rows</caption>
            <thead><tr><th scope="col" class="num">Rows</th><th scope="col">Reason</th><th scope="col">What it means, what to do</th><th scope="col">Rows</th></tr></thead>
            <tbody>${s.reasons.map(
              (r) => html`<tr>
                <td class="num">${r.count}</td>
                <th scope="row">${r.label}</th>
                <td>${r.explanation}</td>
                <td>${r.filters ? html`<a href="${href('/conversions')}?${filtersQuery(r.filters).toString()}">See these ${r.count}</a>` : html`<a href="${href('/uploads')}">Uploads</a>`}</td>
              </tr>`,
            )}</tbody>
            <tfoot><tr><td class="num"><strong>${notCounted}</strong></td><th scope="row">Total not counted</th><td colspan="2">${s.received + s.refusedByChecks} received − ${s.accepted} accepted</td></tr></tfoot>
          </table></div>
          ${s.reasons.length === 0 ? html`<p>Every conversion of the period was accepted.</p>` : ''}
        </section>
        ${microsoftSection(microsoft)}`;
      return render(c, { title: 'Overview', active: '', body });
    }),
};

/** Microsoft's own daily figures per goal beside the ledger's; Microsoft not answering is said, not fatal. */
function microsoftSection(m: Comparison) {
  return html`<section aria-labelledby="microsoft">
    <h2 id="microsoft">Microsoft's own figures</h2>
    ${
      !m.ok
        ? notice('error', `Microsoft's figures are not available: ${m.reason}`)
        : html`<p>Per goal and UTC day: the rows Microsoft accepted from closeloop, and what Microsoft itself counted (attributed to a click) or took without attributing, and why (${m.from} to ${m.to}).</p>
          ${m.notes.map((n) => html`<p class="muted">${n}</p>`)}
          ${m.goals.map(
            (g) => html`<div class="table-wrap"><table>
              <caption>${g.goal}</caption>
              <thead><tr><th scope="col">Day</th><th scope="col" class="num">Accepted (closeloop)</th><th scope="col" class="num">Counted by Microsoft</th><th scope="col" class="num">Not attributed</th><th scope="col">Why not attributed</th></tr></thead>
              <tbody>${g.days.map(
                (d) => html`<tr>
                  <th scope="row">${d.date}</th>
                  <td class="num">${d.accepted}</td>
                  <td class="num">${d.counted ?? '–'}</td>
                  <td class="num">${d.unattributed ?? '–'}</td>
                  <td>${d.reasons.map((r) => html`${r.count} ${r.reason}: ${r.explain} `)}</td>
                </tr>`,
              )}</tbody>
            </table></div>`,
          )}
          ${m.goals.length === 0 ? html`<p>Nothing accepted and nothing reported by Microsoft in this period.</p>` : ''}`
    }
  </section>`;
}
