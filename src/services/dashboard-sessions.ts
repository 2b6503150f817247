import { randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, isNull, lt, or } from 'drizzle-orm';
import { apiKeys, type DashboardSession, dashboardSessions } from '../db/schema/index.ts';
import { sha256Hex } from '../domain/identifiers.ts';
import { AppError } from '../errors.ts';
import { verifyApiKey } from './api-keys.ts';
import type { ServiceContext } from './context.ts';

/** A session lasts 12 hours from sign-in (a working day), then the browser signs in again. */
export const sessionLifetimeMs = 12 * 60 * 60 * 1000;

const newToken = () => randomBytes(32).toString('base64url');

/** Equal strings, compared in constant time (their SHA-256, so lengths leak nothing either). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(sha256Hex(a), 'hex'), Buffer.from(sha256Hex(b), 'hex'));
}

/**
 * Opens a session for an API key (cl_…) or the admin password. Returns the cookie's token, shown once;
 * the database keeps its hash. Expired sessions are removed on the way.
 */
export async function signIn({
  ctx,
  secret,
  adminPassword,
}: {
  ctx: ServiceContext;
  secret: string;
  adminPassword: string | undefined;
}): Promise<{ token: string; session: DashboardSession }> {
  const now = ctx.now();
  let via: DashboardSession['via'] | undefined;
  let apiKeyId: string | null = null;
  if (adminPassword !== undefined && sameSecret(secret, adminPassword)) via = 'admin';
  else {
    const key = await verifyApiKey({ ctx, key: secret.trim() });
    if (key) {
      via = 'api_key';
      apiKeyId = key.id;
    }
  }
  if (!via)
    throw new AppError(
      'unauthorized',
      adminPassword === undefined
        ? 'That is not an active API key. Create one with `closeloop keys create --name NAME` and paste it here.'
        : 'That is neither an active API key nor the admin password (CLOSELOOP_ADMIN_PASSWORD).',
    );
  await ctx.database.db.delete(dashboardSessions).where(lt(dashboardSessions.expiresAt, now));
  const token = newToken();
  const [session] = await ctx.database.db
    .insert(dashboardSessions)
    .values({
      customerId: ctx.customerId,
      tokenHash: sha256Hex(token),
      csrfToken: newToken(),
      via,
      apiKeyId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + sessionLifetimeMs),
    })
    .returning();
  return { token, session: session! };
}

/** The live session of a cookie's token: not expired, not signed out, its API key not revoked. */
export async function findSession({
  ctx,
  token,
}: {
  ctx: ServiceContext;
  token: string;
}): Promise<DashboardSession | undefined> {
  if (!/^[\w-]{20,100}$/.test(token)) return undefined;
  const [row] = await ctx.database.db
    .select({ session: dashboardSessions, keyId: apiKeys.id })
    .from(dashboardSessions)
    .leftJoin(apiKeys, eq(apiKeys.id, dashboardSessions.apiKeyId))
    .where(
      and(
        eq(dashboardSessions.tokenHash, sha256Hex(token)),
        eq(dashboardSessions.customerId, ctx.customerId),
        gt(dashboardSessions.expiresAt, ctx.now()),
        or(
          eq(dashboardSessions.via, 'admin'),
          and(eq(dashboardSessions.via, 'api_key'), isNull(apiKeys.revokedAt)),
        ),
      ),
    );
  // A key that was deleted outright leaves no row to join: the session ends too.
  if (!row || (row.session.via === 'api_key' && row.keyId === null)) return undefined;
  return row.session;
}

/** Signs out: the session's row is deleted, so its cookie opens nothing any more, here or elsewhere. */
export async function signOut({ ctx, token }: { ctx: ServiceContext; token: string }): Promise<void> {
  await ctx.database.db.delete(dashboardSessions).where(eq(dashboardSessions.tokenHash, sha256Hex(token)));
}
