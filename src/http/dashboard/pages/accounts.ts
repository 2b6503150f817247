import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { AppError } from '../../../errors.ts';
import { resumeAccount } from '../../../services/account-resume.ts';
import { type AccountView, listAccounts } from '../../../services/accounts.ts';
import type { ServiceContext } from '../../../services/context.ts';
import { isUuid } from '../../../services/ids.ts';
import { isThrottlePause } from '../../../submit/pause-reason.ts';
import { csrfInput, href, notice, render, utc } from '../layout.ts';
import type { DashboardPage } from '../pages.ts';
import type { DashboardEnv } from '../session.ts';

const authLabels = {
  unknown: 'not checked yet',
  ok: 'signed in',
  reconsent_needed: 'sign-in needed: run closeloop auth login',
  error: 'error',
} as const;

/**
 * The Sending cell: "sending", or the pause with its reason. An error's pause gets a "Resume now" button
 * for the user who has fixed its cause; a throttling pause ends by itself within about a minute.
 */
function sending(c: Context<DashboardEnv>, a: AccountView, now: Date) {
  if (!a.pausedUntil || new Date(a.pausedUntil) <= now) return 'sending';
  const paused = html`<span class="badge state-held">paused</span> until ${utc(new Date(a.pausedUntil))}: ${a.pauseReason ?? ''}`;
  if (isThrottlePause(a.pauseReason)) return html`${paused} <span class="muted">(ends by itself)</span>`;
  return html`${paused}
    <form method="post" action="${href(`/accounts/${a.id}/resume`)}">
      ${csrfInput(c.var.shell.csrf)}
      <button type="submit" class="secondary" aria-label="Resume now: ${a.name}">Resume now</button>
    </form>`;
}

async function accountsView(
  c: Context<DashboardEnv>,
  ctx: ServiceContext,
  { error, ok }: { error?: string | undefined; ok?: string | undefined } = {},
  status: 200 | 404 | 409 = 200,
) {
  const list = await listAccounts({ ctx });
  const now = ctx.now();
  const dry = list.filter((a) => a.dryRun);
  const body = html`${notice('error', error)}${notice('ok', ok)}${
    dry.length > 0
      ? html`<div class="banner" role="note"><strong>Dry run:</strong> ${dry.map((a) => a.name).join(', ')} ${dry.length === 1 ? 'sends' : 'send'} to the built-in emulator. Nothing reaches Microsoft Advertising; every answer you see is the emulator's.</div>`
      : ''
  }
    <div class="table-wrap"><table>
      <caption>Microsoft Advertising accounts closeloop sends to</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Target</th><th scope="col">Customer / account id</th><th scope="col">Sign-in</th><th scope="col">MSCLKID auto-tagging</th><th scope="col">Sending</th><th scope="col">Calls</th></tr></thead>
      <tbody>${list.map(
        (a) => html`<tr>
          <td>${a.name}${a.isDefault ? html` <span class="muted">(default)</span>` : ''}</td>
          <td>${a.dryRun ? html`<span class="badge state-held">dry run (emulator)</span>` : 'Microsoft'}</td>
          <td><code>${a.msCustomerId}</code> / <code>${a.msAccountId}</code></td>
          <td>${authLabels[a.authStatus]}${a.authError ? html`<br /><span class="muted">${a.authError}</span>` : ''}</td>
          <td>${a.autoTagging === true ? html`<span class="badge state-accepted">on</span>${a.autoTaggingCheckedAt ? html` <span class="muted">checked ${utc(new Date(a.autoTaggingCheckedAt))}</span>` : ''}` : a.autoTagging === false ? html`<span class="badge state-rejected">off</span> ${a.autoTaggingWarning}` : 'not checked yet'}</td>
          <td>${sending(c, a, now)}</td>
          <td><a href="${href('/submissions', { account: a.id })}">calls</a></td>
        </tr>`,
      )}</tbody>
    </table></div>
    ${list.length === 0 ? html`<p>No account yet: <code>closeloop serve</code> creates the dry run's, <code>closeloop accounts add</code> registers one.</p>` : ''}`;
  return render(c, { title: 'Accounts', active: '/accounts', body }, status);
}

export const accountsPage: DashboardPage = {
  nav: { path: '/accounts', label: 'Accounts' },
  routes: ({ ctx }) =>
    new Hono<DashboardEnv>()
      .get('/', (c) => {
        const resumed = c.req.query('resumed');
        const notPaused = c.req.query('not-paused');
        return accountsView(c, ctx, {
          ok: resumed
            ? `Account "${resumed}" resumed: its queued rows are sent on the next pass.`
            : notPaused
              ? `Account "${notPaused}" was not paused.`
              : undefined,
        });
      })
      .post('/:id/resume', async (c) => {
        const id = c.req.param('id');
        if (!isUuid(id))
          throw new AppError('bad_request', 'Resume an account with its button on the accounts page.');
        try {
          const view = await resumeAccount({ ctx, idOrRef: id });
          return c.redirect(href('/accounts', { [view.resumed ? 'resumed' : 'not-paused']: view.name }), 303);
        } catch (err) {
          // Paused for throttling meanwhile, or gone: the page again, saying so.
          if (!(err instanceof AppError) || (err.code !== 'conflict' && err.code !== 'not_found')) throw err;
          return accountsView(c, ctx, { error: err.message }, err.code === 'conflict' ? 409 : 404);
        }
      }),
};
