import { Hono } from 'hono';
import { html } from 'hono/html';
import { conversionStates } from '../../../domain/ledger-states.ts';
import { formatValue } from '../../../domain/values.ts';
import { AppError } from '../../../errors.ts';
import { type CarriedBy, conversionHistory } from '../../../services/conversion-history.ts';
import {
  type ConversionFilters,
  conversionSources,
  filtersQuery,
  parseConversionFilters,
  searchConversions,
} from '../../../services/conversion-search.ts';
import { listGoals } from '../../../services/goals.ts';
import { type Html, href, render, stateBadge, utc } from '../layout.ts';
import type { DashboardPage } from '../pages.ts';
import type { DashboardEnv } from '../session.ts';

const sourceLabels: Record<string, string> = {
  file: 'file upload',
  api: 'API',
  crm: 'CRM deal',
  call: 'call-tracking call',
};

function options(values: readonly string[], selected: string | undefined, any: string): Html {
  return html`<option value="">${any}</option>${values.map(
    (v) => html`<option value="${v}"${v === selected ? html` selected` : ''}>${v}</option>`,
  )}`;
}

function searchForm(f: ConversionFilters, goals: string[]): Html {
  return html`<form method="get" action="${href('/conversions')}" class="card" role="search" aria-label="Search conversions">
    <div class="fields">
      <div><label for="clickId">Click ID (or its beginning)</label><input id="clickId" name="clickId" type="text" value="${f.clickId ?? ''}" maxlength="32" spellcheck="false" /></div>
      <div><label for="goal">Goal</label><select id="goal" name="goal">${options(goals, f.goal, 'Any goal')}</select></div>
      <div><label for="source">Source</label><select id="source" name="source">${options(conversionSources, f.source, 'Any source')}</select></div>
      <div><label for="state">State</label><select id="state" name="state">${options(conversionStates, f.state, 'Any state')}</select></div>
      <div><label for="errorCode">Error code</label><input id="errorCode" name="errorCode" type="text" value="${f.errorCode ?? ''}" size="10" /></div>
      <div><label for="from">Conversion day from</label><input id="from" name="from" type="date" value="${f.from ?? ''}" /></div>
      <div><label for="to">to</label><input id="to" name="to" type="date" value="${f.to ?? ''}" /></div>
      <div><button type="submit">Search</button> <a href="${href('/conversions')}">Clear</a></div>
    </div>
  </form>`;
}

function call(carried: CarriedBy | null): Html | string {
  if (!carried) return 'not sent yet';
  const s = carried.submission;
  return html`<a href="${href('/submissions', { id: s.id })}">call of ${utc(s.startedAt)}</a> to ${carried.account ?? 'an account'}${carried.dryRun ? ' (dry run: the emulator)' : ''}: ${s.outcome}${s.trackingId ? html`, TrackingId <code>${s.trackingId}</code>` : ''}`;
}

export const conversionsPage: DashboardPage = {
  nav: { path: '/conversions', label: 'Conversions' },
  routes: ({ ctx }) =>
    new Hono<DashboardEnv>()
      .get('/', async (c) => {
        const goals = (await listGoals({ ctx })).map((g) => g.name);
        let filters: ConversionFilters = {};
        let problem: string | undefined;
        try {
          filters = parseConversionFilters(c.req.query());
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          problem = err.message;
        }
        const beforeText = c.req.query('before');
        const before = beforeText && /^\d{1,15}$/.test(beforeText) ? Number(beforeText) : undefined;
        const page = problem
          ? { conversions: [], next: null }
          : await searchConversions({ ctx, filters, ...(before !== undefined ? { before } : {}) });
        const next = page.next
          ? `${href('/conversions')}?${filtersQuery(filters)}&before=${page.next}`
          : null;
        const body = html`${searchForm(filters, goals)}
          ${problem ? html`<p class="notice error" role="alert">${problem}</p>` : ''}
          <div class="table-wrap"><table>
            <caption>${page.conversions.length ? 'Matching conversions, newest first' : 'No conversion matches'}</caption>
            <thead><tr><th scope="col">Id</th><th scope="col">Goal</th><th scope="col">Click ID</th><th scope="col">Conversion time</th><th scope="col" class="num">Value</th><th scope="col">Source</th><th scope="col">State</th><th scope="col">Why</th></tr></thead>
            <tbody>${page.conversions.map(
              (r) => html`<tr>
                <td><a href="${href(`/conversions/${r.id}`)}">#${r.id}</a></td>
                <td>${r.goalName}</td>
                <td><code>${r.clickId ?? '(hashed email/phone)'}</code></td>
                <td>${utc(r.conversionTime)}</td>
                <td class="num">${r.value === null ? '' : `${formatValue(r.value)} ${r.currency ?? ''}`}</td>
                <td>${sourceLabels[r.source] ?? r.source}</td>
                <td>${stateBadge(r.state)}</td>
                <td>${r.errorCode ? html`<strong>${r.errorCode}</strong> ` : ''}${r.message ?? (r.state === 'held' && r.heldUntil ? `until ${utc(r.heldUntil)}` : '')}</td>
              </tr>`,
            )}</tbody>
          </table></div>
          ${next ? html`<p class="pager"><a href="${next}">More</a></p>` : ''}`;
        return render(c, { title: 'Conversions', active: '/conversions', body });
      })
      .get('/:id', async (c) => {
        const idText = c.req.param('id');
        const id = /^\d{1,15}$/.test(idText) ? Number(idText) : Number.NaN;
        const h = await conversionHistory({ ctx, id });
        const r = h.conversion;
        const events: { at: Date; text: Html | string }[] = [
          {
            at: r.createdAt,
            text: html`Received from ${sourceLabels[r.source] ?? r.source} <code>${r.sourceRef}</code>${h.upload ? html` in <a href="${href(`/uploads/${h.upload.id}`)}">${h.upload.filename}</a>${r.uploadRow !== null ? `, row ${r.uploadRow}` : ''}` : ''}.`,
          },
        ];
        if (h.duplicateOf)
          events.push({
            at: r.createdAt,
            text: html`A duplicate of <a href="${href(`/conversions/${h.duplicateOf.id}`)}">#${h.duplicateOf.id}</a> (same goal, click ID and time): not sent again, Microsoft counts it once.`,
          });
        if (h.held && r.heldUntil) events.push({ at: r.updatedAt, text: `Held: ${h.held}` });
        if (h.carriedBy)
          events.push({
            at: h.carriedBy.submission.startedAt,
            text: html`Sent in the ${call(h.carriedBy)}.`,
          });
        if (r.acceptedAt) events.push({ at: r.acceptedAt, text: 'Accepted by Microsoft.' });
        else if (r.errorCode && r.state !== 'held')
          events.push({
            at: r.updatedAt,
            text: html`${r.state}: <strong>${r.errorCode}</strong>${r.errorName ? ` ${r.errorName}` : ''} — ${r.message ?? ''}`,
          });
        for (const d of h.duplicates)
          events.push({
            at: d.createdAt,
            text: html`Arrived again as <a href="${href(`/conversions/${d.id}`)}">#${d.id}</a> from ${sourceLabels[d.source] ?? d.source}: recorded as a duplicate.`,
          });
        for (const { adjustment: a, carriedBy } of h.adjustments)
          events.push({
            at: a.createdAt,
            text: html`${a.type === 'restate' ? `Restated to ${a.value === null ? '' : formatValue(a.value)} ${a.currency ?? ''}` : 'Retracted'} (adjustment time ${utc(a.adjustmentTime)}, from ${sourceLabels[a.source] ?? a.source}): ${stateBadge(a.state)} ${a.errorCode ? html`<strong>${a.errorCode}</strong> ${a.message ?? ''}` : ''} — ${call(carriedBy)}.`,
          });
        events.sort((a, b) => a.at.getTime() - b.at.getTime());
        const body = html`<dl class="facts">
            <dt>State</dt><dd>${stateBadge(r.state)}${r.state === 'held' && r.heldUntil ? ` until ${utc(r.heldUntil)}` : ''}</dd>
            <dt>Goal</dt><dd>${r.goalName}</dd>
            <dt>Click ID</dt><dd><code>${r.clickId ?? '(none: hashed email/phone)'}</code></dd>
            <dt>Conversion time</dt><dd>${utc(r.conversionTime)}</dd>
            <dt>Value</dt><dd>${r.value === null ? "the goal's default" : `${formatValue(r.value)} ${r.currency ?? ''}`}</dd>
            <dt>Source</dt><dd>${sourceLabels[r.source] ?? r.source}: <code>${r.sourceRef}</code></dd>
            <dt>Attempts</dt><dd>${r.attempts}</dd>
            <dt>Microsoft's answer</dt><dd>${r.acceptedAt ? `accepted at ${utc(r.acceptedAt)}` : r.errorCode ? html`<strong>${r.errorCode}</strong>${r.errorName ? ` ${r.errorName}` : ''}: ${r.message ?? ''}` : 'none yet'}</dd>
            <dt>Carried by</dt><dd>${call(h.carriedBy)}</dd>
          </dl>
          <h2>History</h2>
          <ol class="timeline">${events.map((e) => html`<li><time datetime="${e.at.toISOString()}">${utc(e.at)}</time>${e.text}</li>`)}</ol>
          <p class="help">The ledger keeps each row's current state and the last call that carried it; earlier attempts of a retried row are counted in Attempts.</p>
          <p><a href="${href('/conversions', { clickId: r.clickId ?? undefined })}">Every conversion of this click ID</a></p>`;
        return render(c, { title: `Conversion #${r.id}`, active: '/conversions', body });
      }),
};
