import type { Context } from 'hono';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { base, csrfField, type DashboardEnv } from './session.ts';

/** What a page renders to: markup whose every interpolated value hono/html has escaped. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface NavEntry {
  /** Under /dashboard: '' is the overview. */
  path: string;
  label: string;
}

export interface Shell {
  nav: readonly NavEntry[];
  dryRun: boolean;
  csrf: string;
  via: 'admin' | 'api_key';
}

/** The static files' URLs; same-origin, so the Content-Security-Policy allows them without 'unsafe-inline'. */
export const assets = {
  css: `${base}/static/dashboard.css`,
  js: `${base}/static/dashboard.js`,
  icon: `${base}/static/favicon.svg`,
};

/** The Content-Security-Policy of every dashboard page: only this origin's own files, no inline script. */
export const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The hidden field that every form of a signed-in page carries. */
export const csrfInput = (csrf: string) => html`<input type="hidden" name="${csrfField}" value="${csrf}" />`;

/** A bare document (sign-in, start page): head, skip link, main. */
export function documentShell({ title, body, header }: { title: string; body: Html; header?: Html }) {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title} · closeloop</title>
    <link rel="stylesheet" href="${assets.css}" />
    <link rel="icon" href="${assets.icon}" type="image/svg+xml" />
    <script src="${assets.js}" defer></script>
  </head>
  <body>
    <a class="skip" href="#main">Skip to content</a>
    ${header ?? ''}
    <main id="main" tabindex="-1">${body}</main>
  </body>
</html>`;
}

/** A signed-in page: the navigation (one entry per page), the dry-run banner, sign-out, then the page. */
export function page(
  c: Context,
  shell: Shell,
  { title, active, body }: { title: string; active: string; body: Html },
) {
  const header = html`<header class="top">
    <a class="brand" href="${base}">closeloop</a>
    <nav aria-label="Dashboard">
      <ul>
        ${shell.nav.map(
          (n) =>
            html`<li><a href="${base}${n.path}"${n.path === active ? html` aria-current="page"` : ''}>${n.label}</a></li>`,
        )}
      </ul>
    </nav>
    <form method="post" action="${base}/sign-out" class="sign-out">
      ${csrfInput(shell.csrf)}
      <button type="submit">Sign out</button>
    </form>
  </header>
  ${shell.dryRun ? dryRunBanner : ''}`;
  c.header('content-security-policy', contentSecurityPolicy);
  return documentShell({ title, header, body: html`<h1>${title}</h1>${body}` });
}

export const dryRunBanner = html`<div class="banner dry-run" role="status"><strong>Dry run.</strong> Conversions go to the built-in emulator: nothing reaches Microsoft Advertising. Set the <code>MSADS_*</code> variables (docs/sending.md, “Setting up an account”) to send for real.</div>`;

/** A message after a form: an error (role=alert, read out at once) or a confirmation. */
export function notice(kind: 'error' | 'ok', text: string | undefined): Html | '' {
  if (!text) return '';
  return kind === 'error'
    ? html`<p class="notice error" role="alert">${text}</p>`
    : html`<p class="notice ok" role="status">${text}</p>`;
}

/** "2026-06-01 10:34:05 UTC", or an empty cell. */
export function utc(d: Date | null | undefined): string {
  return d ? `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC` : '';
}

/** A state as a labelled badge; its colour comes from the stylesheet (class per state), its meaning from the text. */
export const stateBadge = (state: string) =>
  html`<span class="badge state-${state.replace(/[^a-z_]/g, '')}">${state}</span>`;

/** A link into the dashboard with query parameters (values encoded, so no value can change the URL's shape). */
export function href(path: string, query: Record<string, string | number | undefined | null> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `${base}${path}${s ? `?${s}` : ''}`;
}

/** Answers with a signed-in page (the shell comes from the session middleware). */
export function render(
  c: Context<DashboardEnv>,
  opts: { title: string; active: string; body: Html },
  status: 200 | 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 = 200,
) {
  return c.html(page(c, c.var.shell, opts), status);
}

/** 403: a POST without the session's CSRF token, or with a wrong one. Nothing was done. */
export function refused(c: Context<DashboardEnv>) {
  return render(
    c,
    {
      title: 'Form refused',
      active: '',
      body: html`${notice(
        'error',
        'This form has expired or did not come from this dashboard (its security token is missing or wrong). Nothing was changed. Go back, reload the page and try again.',
      )}`,
    },
    403,
  );
}
