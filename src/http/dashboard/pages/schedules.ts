import { Hono } from 'hono';
import { html } from 'hono/html';
import { AppError } from '../../../errors.ts';
import { runSchedule } from '../../../services/schedule-runs.ts';
import { getSchedule, listSchedules, scheduleHistory, updateSchedule } from '../../../services/schedules.ts';
import { csrfInput, href, notice, render, stateBadge, utc } from '../layout.ts';
import type { DashboardPage } from '../pages.ts';
import type { DashboardEnv } from '../session.ts';

/** The URL as people may see it: never a user name or password, even one an old row still carries. */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    return '(not a URL)';
  }
}

const notServed =
  'Scheduled imports are not served by this process: start closeloop serve with CLOSELOOP_SECRET_KEY set to run them.';

export const schedulesPage: DashboardPage = {
  nav: { path: '/schedules', label: 'Schedules' },
  routes: ({ ctx, log, schedules: deps }) =>
    new Hono<DashboardEnv>()
      .get('/', async (c) => {
        const rows = await Promise.all(
          (await listSchedules({ ctx })).map(async (s) => ({
            s,
            run: (await scheduleHistory({ ctx, ref: s.id, limit: 1 })).runs[0],
          })),
        );
        const done = c.req.query('started') ?? c.req.query('changed');
        const body = html`${notice('ok', done ? `${c.req.query('started') ? 'Run started' : 'Changed'}: ${done}. Reload to see its run.` : undefined)}
          ${deps ? '' : notice('error', notServed)}
          <div class="table-wrap"><table>
            <caption>Scheduled imports: each fetches its file and imports it as an upload</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">URL</th><th scope="col">Every</th><th scope="col">Time zone</th><th scope="col">Next run</th><th scope="col">Last run</th><th scope="col">Actions</th></tr></thead>
            <tbody>${rows.map(
              ({ s, run }) => html`<tr>
                <th scope="row">${s.name}</th>
                <td><code>${shownUrl(s.url)}</code></td>
                <td>${s.spec}</td>
                <td>${s.timeZone}</td>
                <td>${s.paused ? stateBadge('paused') : utc(s.nextRunAt)}</td>
                <td>${
                  run
                    ? html`${stateBadge(run.outcome)} ${utc(run.startedAt)}${run.error ? html`<br />${run.error}` : ''}${run.uploadId ? html`<br /><a href="${href(`/uploads/${run.uploadId}`)}">its upload</a>` : ''}`
                    : 'never'
                }${s.lastError && !run?.error ? html`<br />${s.lastError}` : ''}</td>
                <td class="actions">
                  <form method="post" action="${href(`/schedules/${s.id}/run`)}">
                    ${csrfInput(c.var.shell.csrf)}
                    <button type="submit" class="secondary" aria-label="Run now: ${s.name}"${deps ? '' : html` disabled`}>Run now</button>
                  </form>
                  <form method="post" action="${href(`/schedules/${s.id}/paused`)}">
                    ${csrfInput(c.var.shell.csrf)}
                    <input type="hidden" name="paused" value="${s.paused ? 'false' : 'true'}" />
                    <button type="submit" class="secondary" aria-label="${s.paused ? 'Resume' : 'Pause'} ${s.name}">${s.paused ? 'Resume' : 'Pause'}</button>
                  </form>
                </td>
              </tr>`,
            )}</tbody>
          </table></div>
          ${rows.length === 0 ? html`<p>No schedules yet: add one with <code>closeloop schedules add</code> (see docs/schedules.md).</p>` : ''}`;
        return render(c, { title: 'Schedules', active: '/schedules', body });
      })
      .post('/:id/run', async (c) => {
        if (!deps) throw new AppError('service_unavailable', notServed);
        const schedule = await getSchedule({ ctx, ref: c.req.param('id') });
        // Not awaited: a download may take a while; the run records its outcome and error.
        void runSchedule({ ctx, deps, schedule, trigger: 'manual' }).catch((err) =>
          log.error('scheduled import run failed', err),
        );
        return c.redirect(href('/schedules', { started: schedule.name }), 303);
      })
      .post('/:id/paused', async (c) => {
        const paused = c.var.form.get('paused');
        if (paused !== 'true' && paused !== 'false')
          throw new AppError(
            'bad_request',
            'Pause or resume a schedule with its button on the schedules page.',
          );
        const s = await updateSchedule({ ctx, ref: c.req.param('id'), patch: { paused: paused === 'true' } });
        return c.redirect(
          href('/schedules', { changed: `${s.name} ${s.paused ? 'paused' : 'resumed'}` }),
          303,
        );
      }),
};
