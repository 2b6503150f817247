import { Hono } from 'hono';
import { html } from 'hono/html';
import { listAccounts } from '../../../services/accounts.ts';
import { href, render, utc } from '../layout.ts';
import type { DashboardPage } from '../pages.ts';
import type { DashboardEnv } from '../session.ts';

const authLabels = {
  unknown: 'not checked yet',
  ok: 'signed in',
  reconsent_needed: 'sign-in needed: run closeloop auth login',
  error: 'error',
} as const;

export const accountsPage: DashboardPage = {
  nav: { path: '/accounts', label: 'Accounts' },
  routes: ({ ctx }) =>
    new Hono<DashboardEnv>().get('/', async (c) => {
      const list = await listAccounts({ ctx });
      const now = ctx.now();
      const dry = list.filter((a) => a.dryRun);
      const body = html`${
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
              <td>${a.pausedUntil && new Date(a.pausedUntil) > now ? html`<span class="badge state-held">paused</span> until ${utc(new Date(a.pausedUntil))}: ${a.pauseReason ?? ''}` : 'sending'}</td>
              <td><a href="${href('/submissions', { account: a.id })}">calls</a></td>
            </tr>`,
          )}</tbody>
        </table></div>
        ${list.length === 0 ? html`<p>No account yet: <code>closeloop serve</code> creates the dry run's, <code>closeloop accounts add</code> registers one.</p>` : ''}`;
      return render(c, { title: 'Accounts', active: '/accounts', body });
    }),
};
