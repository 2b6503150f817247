import { Hono } from 'hono';
import { deleteCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { AppError } from '../../errors.ts';
import type { ServiceContext } from '../../services/context.ts';
import { findSession, signIn } from '../../services/dashboard-sessions.ts';
import { payloadTooLarge, readBody, utf8Text } from '../body.ts';
import { contentSecurityPolicy, documentShell, notice } from './layout.ts';
import {
  base,
  csrfField,
  safeNext,
  sessionToken,
  setSessionCookie,
  signInCookie,
  signInToken,
  signInTokenMatches,
} from './session.ts';
import { clientAddress, createSignInLimiter } from './sign-in-limit.ts';

/** A sign-in form is a key or a password and two hidden fields: far below this. */
const maxSignInBytes = 8 * 1024;

function signInPage({
  token,
  next,
  error,
  info,
  adminPassword,
}: {
  token: string;
  next: string;
  error?: string;
  info?: string;
  adminPassword: boolean;
}) {
  return documentShell({
    title: 'Sign in',
    body: html`<div class="card narrow">
      <h1>Sign in to closeloop</h1>
      ${notice('error', error)}${notice('ok', info)}
      <form method="post" action="${base}/sign-in">
        <input type="hidden" name="${csrfField}" value="${token}" />
        <input type="hidden" name="next" value="${next}" />
        <label for="secret">${adminPassword ? 'API key or admin password' : 'API key'}</label>
        <input id="secret" name="secret" type="password" required autocomplete="current-password" aria-describedby="secret-help" />
        <p id="secret-help" class="help">An API key from <code>closeloop keys create --name NAME</code>${adminPassword ? html`, or the password set in <code>CLOSELOOP_ADMIN_PASSWORD</code>` : ''}. The dashboard keeps you signed in for 12 hours in a cookie no script can read.</p>
        <button type="submit">Sign in</button>
      </form>
    </div>`,
  });
}

/** GET and POST /dashboard/sign-in: the one form that needs no session (its CSRF token is double-submitted). */
export function signInRoutes(ctx: ServiceContext, { adminPassword }: { adminPassword: string | undefined }) {
  const limiter = createSignInLimiter(() => ctx.now().getTime());
  return new Hono()
    .get('/sign-in', async (c) => {
      const next = safeNext(c.req.query('next'));
      const token = sessionToken(c);
      if (token && (await findSession({ ctx, token }))) return c.redirect(next, 303);
      c.header('content-security-policy', contentSecurityPolicy);
      c.header('cache-control', 'no-store');
      return c.html(
        signInPage({
          token: signInToken(c),
          next,
          adminPassword: adminPassword !== undefined,
          ...(c.req.query('signedOut') !== undefined ? { info: 'You have signed out.' } : {}),
        }),
      );
    })
    .post('/sign-in', async (c) => {
      const tooLarge = () => payloadTooLarge(maxSignInBytes, 'The sign-in form', 'Paste only the key.');
      const form = new URLSearchParams(utf8Text(await readBody(c, maxSignInBytes, tooLarge)));
      c.header('content-security-policy', contentSecurityPolicy);
      c.header('cache-control', 'no-store');
      const next = safeNext(form.get('next') ?? undefined);
      if (!signInTokenMatches(c, form.get(csrfField)))
        return c.html(
          signInPage({
            token: signInToken(c),
            next,
            adminPassword: adminPassword !== undefined,
            error: 'This sign-in form has expired or did not come from this dashboard; try again.',
          }),
          403,
        );
      const address = clientAddress(c);
      const wait = limiter.retryAfterSec(address);
      if (wait > 0) {
        c.header('retry-after', String(wait));
        return c.html(
          signInPage({
            token: signInToken(c),
            next,
            adminPassword: adminPassword !== undefined,
            error: `Too many failed sign-ins from your address: try again in ${wait < 60 ? `${wait} s` : `${Math.ceil(wait / 60)} min`}.`,
          }),
          429,
        );
      }
      try {
        const { token } = await signIn({ ctx, secret: form.get('secret') ?? '', adminPassword });
        limiter.succeeded(address);
        setSessionCookie(c, token);
        deleteCookie(c, signInCookie, { path: `${base}/sign-in` });
        return c.redirect(next, 303);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'unauthorized') throw err;
        limiter.failed(address);
        return c.html(
          signInPage({
            token: signInToken(c),
            next,
            adminPassword: adminPassword !== undefined,
            error: err.message,
          }),
          401,
        );
      }
    });
}
