import { and, asc, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { type Account, accounts } from '../db/schema/index.ts';
import { refineName } from '../domain/names.ts';
import { AppError } from '../errors.ts';
import type { Secrets } from '../secrets.ts';
import { lockAccounts, retireDryRun } from './account-set.ts';
import type { ServiceContext } from './context.ts';
import { isUuid } from './ids.ts';
import { validationError } from './zod-error.ts';

export { prepareAccounts, syncEnvAccount } from './env-account.ts';

/** An account as the API, the CLI and the dashboard show it: never a secret, only whether one is there. */
export interface AccountView {
  id: string;
  name: string;
  target: 'microsoft' | 'emulator';
  /** The built-in emulator: nothing reaches Microsoft. */
  dryRun: boolean;
  origin: 'env' | 'database' | 'dry-run';
  isDefault: boolean;
  msCustomerId: string;
  msAccountId: string;
  authStatus: 'unknown' | 'ok' | 'reconsent_needed' | 'error';
  authError: string | null;
  hasRefreshToken: boolean;
  /** MSCLKIDAutoTaggingEnabled as last read from Microsoft; null: not checked yet. */
  autoTagging: boolean | null;
  autoTaggingCheckedAt: string | null;
  autoTaggingWarning: string | null;
  pausedUntil: string | null;
  pauseReason: string | null;
  /** Per-account rate limit; null: the configured MSADS_CALLS_PER_MINUTE. */
  callsPerMinute: number | null;
}

export function autoTaggingWarning(a: Pick<Account, 'id' | 'autoTagging'>): string | null {
  if (a.autoTagging === true) return null;
  if (a.autoTagging === null) return 'not checked yet';
  return `MSCLKID auto-tagging is off: Microsoft does not add msclkid to ad clicks, so there are no click IDs to send. Turn it on: closeloop accounts auto-tagging --enable (or POST /api/v1/accounts/${a.id}/auto-tagging)`;
}

export function accountView(a: Account): AccountView {
  return {
    id: a.id,
    name: a.name,
    target: a.target,
    dryRun: a.target === 'emulator',
    origin: a.origin,
    isDefault: a.isDefault,
    msCustomerId: a.msCustomerId,
    msAccountId: a.msAccountId,
    authStatus: a.authStatus,
    authError: a.authError,
    hasRefreshToken: a.refreshTokenEnc !== null,
    autoTagging: a.autoTagging,
    autoTaggingCheckedAt: a.autoTaggingCheckedAt?.toISOString() ?? null,
    autoTaggingWarning: autoTaggingWarning(a),
    pausedUntil: a.pausedUntil?.toISOString() ?? null,
    pauseReason: a.pauseReason,
    callsPerMinute: a.callsPerMinute,
  };
}

/** The default account first, then by name. */
export async function listAccounts({ ctx }: { ctx: ServiceContext }): Promise<AccountView[]> {
  const rows = await ctx.database.db
    .select()
    .from(accounts)
    .where(eq(accounts.customerId, ctx.customerId))
    .orderBy(desc(accounts.isDefault), asc(accounts.name), asc(accounts.createdAt));
  return rows.map(accountView);
}

/** An account by closeloop's id (a UUID) or by Microsoft's account id (digits). */
export async function getAccount({ ctx, id }: { ctx: ServiceContext; id: string }): Promise<Account> {
  const key = id.trim();
  const [row] =
    isUuid(key) || /^\d+$/.test(key)
      ? await ctx.database.db
          .select()
          .from(accounts)
          .where(
            and(
              eq(accounts.customerId, ctx.customerId),
              isUuid(key) ? eq(accounts.id, key) : eq(accounts.msAccountId, key),
            ),
          )
      : [];
  if (!row)
    throw new AppError(
      'not_found',
      `No account "${id}" (give closeloop's account id or Microsoft's account id). List accounts with \`closeloop accounts list\` or GET /api/v1/accounts.`,
    );
  return row;
}

/** The account conversions go to when nothing names one; undefined before the first start. */
export async function defaultAccount({ ctx }: { ctx: ServiceContext }): Promise<Account | undefined> {
  const [row] = await ctx.database.db
    .select()
    .from(accounts)
    .where(and(eq(accounts.customerId, ctx.customerId), eq(accounts.isDefault, true)));
  return row;
}

const numericId = (what: string) =>
  z
    .string({ error: `${what} is required` })
    .trim()
    .regex(/^\d{1,20}$/, `${what} must be Microsoft's numeric id (digits only, e.g. 123456789)`);

const secretField = (what: string) =>
  z
    .string({ error: `${what} is required` })
    .trim()
    .min(1, `${what} must not be empty`)
    .max(10_000);

export const accountInputSchema = z.object({
  name: z
    .string({ error: 'name is required' })
    .trim()
    .min(1, 'name must not be empty (e.g. "Acme US")')
    .max(100, 'name may have at most 100 characters')
    .superRefine(refineName),
  msCustomerId: numericId('msCustomerId (the customer / manager account id)'),
  msAccountId: numericId('msAccountId (the ad account id)'),
  developerToken: secretField('developerToken'),
  clientId: secretField('clientId (the app registration id)'),
  clientSecret: secretField('clientSecret').optional(),
  refreshToken: secretField('refreshToken').optional(),
  apiBaseUrl: z
    .url({ error: 'apiBaseUrl must be a URL like https://campaign.api.bingads.microsoft.com' })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  oauthTokenUrl: z
    .url({
      error: 'oauthTokenUrl must be a URL like https://login.microsoftonline.com/common/oauth2/v2.0/token',
    })
    .optional(),
  callsPerMinute: z
    .number({ error: 'callsPerMinute must be a number' })
    .int('callsPerMinute must be a whole number')
    .min(1, 'callsPerMinute must be at least 1')
    .max(10_000, 'callsPerMinute may be at most 10000')
    .optional(),
  makeDefault: z.boolean({ error: 'makeDefault must be true or false' }).optional(),
});

export type AccountInput = z.input<typeof accountInputSchema>;

/**
 * Register another Microsoft Advertising account, kept in the database (origin 'database'): for a
 * closeloop that sends to several accounts. Its secrets are stored encrypted. It becomes the default
 * when asked, or when there is no default besides the dry run.
 */
export async function registerAccount({
  ctx,
  secrets,
  input,
}: {
  ctx: ServiceContext;
  secrets: Secrets;
  input: unknown;
}): Promise<Account> {
  const parsed = accountInputSchema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error, 'account');
  const a = parsed.data;
  const conflict = () =>
    new AppError(
      'conflict',
      `Microsoft account ${a.msAccountId} is already registered. List accounts with \`closeloop accounts list\`.`,
    );
  try {
    return await ctx.database.db.transaction(async (tx) => {
      await lockAccounts(tx, ctx.customerId);
      const [existing] = await tx
        .select({ id: accounts.id })
        .from(accounts)
        .where(and(eq(accounts.customerId, ctx.customerId), eq(accounts.msAccountId, a.msAccountId)));
      if (existing) throw conflict();
      await retireDryRun(tx, ctx.customerId, ctx.now());
      const [currentDefault] = await tx
        .select({ id: accounts.id })
        .from(accounts)
        .where(and(eq(accounts.customerId, ctx.customerId), eq(accounts.isDefault, true)));
      if (a.makeDefault && currentDefault)
        await tx.update(accounts).set({ isDefault: false }).where(eq(accounts.id, currentDefault.id));
      const now = ctx.now();
      const [row] = await tx
        .insert(accounts)
        .values({
          customerId: ctx.customerId,
          name: a.name,
          target: 'microsoft',
          origin: 'database',
          isDefault: a.makeDefault === true || !currentDefault,
          msCustomerId: a.msCustomerId,
          msAccountId: a.msAccountId,
          apiBaseUrl: a.apiBaseUrl ?? null,
          oauthTokenUrl: a.oauthTokenUrl ?? null,
          clientId: a.clientId,
          clientSecretEnc: a.clientSecret ? secrets.encrypt(a.clientSecret) : null,
          developerTokenEnc: secrets.encrypt(a.developerToken),
          refreshTokenEnc: a.refreshToken ? secrets.encrypt(a.refreshToken) : null,
          callsPerMinute: a.callsPerMinute ?? null,
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      return row!;
    });
  } catch (err) {
    // Another process registered the same account between our check and our insert.
    if (isUniqueViolation(err)) throw conflict();
    throw err;
  }
}

/**
 * Store a refresh token from a new consent (`closeloop auth login`): it replaces the old one, and the
 * account is usable again. The access token that came with it, if given, saves the first refresh.
 */
export async function storeRefreshToken({
  ctx,
  secrets,
  accountId,
  refreshToken,
  accessToken,
}: {
  ctx: ServiceContext;
  secrets: Secrets;
  accountId: string;
  refreshToken: string;
  accessToken?: { token: string; expiresAt: Date };
}): Promise<Account> {
  const [row] = await ctx.database.db
    .update(accounts)
    .set({
      refreshTokenEnc: secrets.encrypt(refreshToken),
      accessTokenEnc: accessToken ? secrets.encrypt(accessToken.token) : null,
      accessTokenExpiresAt: accessToken?.expiresAt ?? null,
      authStatus: 'ok',
      authError: null,
      updatedAt: ctx.now(),
    })
    .where(and(eq(accounts.id, accountId), eq(accounts.customerId, ctx.customerId)))
    .returning();
  if (!row)
    throw new AppError(
      'not_found',
      `No account ${accountId}. List accounts with \`closeloop accounts list\`.`,
    );
  return row;
}

function isUniqueViolation(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    if (e.code === '23505') return true;
  return false;
}
