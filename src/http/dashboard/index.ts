import { readFileSync } from 'node:fs';
import { type ErrorHandler, Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import { html } from 'hono/html';
import { AppError } from '../../errors.ts';
import { signOut } from '../../services/dashboard-sessions.ts';
import { payloadTooLarge, readBody, utf8Text } from '../body.ts';
import { notice, refused, render } from './layout.ts';
import { uploadFormPath } from './pages/uploads.ts';
import { type PageDeps, pages } from './pages.ts';
import {
  base,
  clearSessionCookie,
  csrfField,
  csrfMatches,
  type DashboardEnv,
  requireSession,
  sessionToken,
} from './session.ts';
import { signInRoutes } from './sign-in.ts';
import { startPage } from './start.ts';

export interface DashboardDeps extends PageDeps {
  /** CLOSELOOP_ADMIN_PASSWORD; undefined: API keys only. */
  adminPassword: string | undefined;
  /** The app's own error handler, for what is not a user's mistake (the database down, a bug). */
  onError: ErrorHandler;
}

/** Forms other than the upload: a few fields, far below this. */
const maxFormBytes = 64 * 1024;

/** The stylesheet and script, read once when the app is made (no build step, no CDN, same origin). */
function staticRoutes() {
  const read = (name: string) => readFileSync(new URL(`./static/${name}`, import.meta.url), 'utf8');
  const files = {
    'dashboard.css': { body: read('dashboard.css'), type: 'text/css; charset=utf-8' },
    'dashboard.js': { body: read('dashboard.js'), type: 'text/javascript; charset=utf-8' },
    'favicon.svg': { body: read('favicon.svg'), type: 'image/svg+xml' },
  };
  return new Hono().get('/:name', (c) => {
    const file = files[c.req.param('name') as keyof typeof files];
    if (!file) return c.text('Not found', 404);
    c.header('cache-control', 'public, max-age=300');
    return c.body(file.body, 200, { 'content-type': file.type });
  });
}

/**
 * Every POST of a signed-in page carries the session's CSRF token (a synchronizer token) or is refused
 * with 403 before anything is done. Forms are urlencoded; the one multipart form (the upload) is checked
 * by its route, from the field that comes before the file, before a byte of the file is read.
 */
function checkCsrf() {
  return createMiddleware<DashboardEnv>(async function dashboardCsrf(c, next) {
    if (c.req.method !== 'POST') return next();
    const type = c.req.header('content-type') ?? '';
    if (type.startsWith('multipart/form-data') && c.req.path === uploadFormPath) return next();
    const form = type.startsWith('application/x-www-form-urlencoded')
      ? new URLSearchParams(
          utf8Text(
            await readBody(c, maxFormBytes, () =>
              payloadTooLarge(maxFormBytes, 'The form', 'A dashboard form is a few fields; reload the page.'),
            ),
          ),
        )
      : undefined;
    if (!form || !csrfMatches(c.var.session, form.get(csrfField))) return refused(c);
    c.set('form', form);
    await next();
  });
}

/**
 * The browser side: the public start page at /, sign-in, and the signed-in pages under /dashboard.
 * Server-rendered with hono/html (every interpolated value is escaped), no build step.
 */
export function dashboardRoutes(deps: DashboardDeps) {
  const { ctx, target } = deps;
  const signedIn = new Hono<DashboardEnv>();
  signedIn.use(requireSession(ctx));
  signedIn.use(
    createMiddleware<DashboardEnv>(async function dashboardShell(c, next) {
      const s = c.var.session;
      c.set('shell', {
        nav: pages.map((p) => p.nav),
        dryRun: target === 'emulator',
        csrf: s.csrfToken,
        via: s.via,
      });
      await next();
    }),
  );
  signedIn.use(checkCsrf());
  signedIn.post('/sign-out', async (c) => {
    const token = sessionToken(c);
    if (token) await signOut({ ctx, token });
    clearSessionCookie(c);
    return c.redirect(`${base}/sign-in?signedOut`, 303);
  });
  for (const p of pages) signedIn.route(p.nav.path || '/', p.routes(deps));
  // A user's mistake (a bad filter, an unknown id) is a page that says what to do; the rest is the app's.
  signedIn.onError((err, c) => {
    if (!(err instanceof AppError) || !c.var.shell) return deps.onError(err, c);
    return render(
      c,
      {
        title: err.status === 404 ? 'Not found' : 'Something to fix',
        active: '',
        body: html`${notice('error', err.message)}`,
      },
      err.status as 400,
    );
  });
  return new Hono()
    .route('/', startPage(ctx, { target }))
    .route(`${base}/static`, staticRoutes())
    .route(base, signInRoutes(ctx, { adminPassword: deps.adminPassword }))
    .route(base, signedIn);
}
