import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import type { DashboardSession } from '../../db/schema/index.ts';
import type { ServiceContext } from '../../services/context.ts';
import { findSession, sameSecret, sessionLifetimeMs } from '../../services/dashboard-sessions.ts';
import type { Shell } from './layout.ts';

export interface DashboardEnv {
  Variables: { session: DashboardSession; shell: Shell; form: URLSearchParams };
}

export const base = '/dashboard';
export const sessionCookie = 'closeloop_session';
/** The sign-in form's own token (double-submit: this cookie and the form's field must match). */
export const signInCookie = 'closeloop_sign_in';
/** The name of the hidden field that carries the CSRF token in every form. */
export const csrfField = '_csrf';

/** Secure when the browser reached us over HTTPS (directly, or through a proxy that says so). */
function secure(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

/** HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Secure over HTTPS. */
function cookieOptions(c: Context, maxAgeSeconds: number, path = base) {
  return { path, httpOnly: true, sameSite: 'Strict' as const, secure: secure(c), maxAge: maxAgeSeconds };
}

export function setSessionCookie(c: Context, token: string): void {
  setCookie(c, sessionCookie, token, cookieOptions(c, sessionLifetimeMs / 1000));
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, sessionCookie, { path: base, secure: secure(c) });
}

export function sessionToken(c: Context): string | undefined {
  return getCookie(c, sessionCookie);
}

/** A fresh token for the sign-in form, set in its cookie too. */
export function signInToken(c: Context): string {
  const token = randomBytes(32).toString('base64url');
  setCookie(c, signInCookie, token, cookieOptions(c, 3600, `${base}/sign-in`));
  return token;
}

export function signInTokenMatches(c: Context, field: unknown): boolean {
  const cookie = getCookie(c, signInCookie);
  return typeof field === 'string' && cookie !== undefined && cookie.length > 0 && sameSecret(cookie, field);
}

/** True when a form's CSRF field is the session's token. */
export function csrfMatches(session: DashboardSession, field: unknown): boolean {
  return typeof field === 'string' && field.length > 0 && sameSecret(field, session.csrfToken);
}

/**
 * Every dashboard page needs a live session: without one a GET goes to the sign-in page (and comes back
 * after), anything else is refused. Pages carry customer data: no cache keeps them.
 */
export function requireSession(ctx: ServiceContext) {
  return createMiddleware<DashboardEnv>(async function dashboardSession(c, next) {
    const token = sessionToken(c);
    const session = token ? await findSession({ ctx, token }) : undefined;
    if (!session) {
      if (token) clearSessionCookie(c);
      if (c.req.method === 'GET' || c.req.method === 'HEAD') {
        const back = new URL(c.req.url);
        return c.redirect(`${base}/sign-in?next=${encodeURIComponent(back.pathname + back.search)}`, 303);
      }
      return c.text('Your session has ended; sign in again.', 401);
    }
    c.set('session', session);
    c.header('cache-control', 'no-store');
    await next();
  });
}

/** Only a path of the dashboard itself is a place to come back to after signing in (no open redirect). */
export function safeNext(next: string | undefined): string {
  return next?.startsWith(`${base}/`) && !next.startsWith('//') && !/[\\\r\n]/.test(next) ? next : base;
}
