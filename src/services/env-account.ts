import { and, asc, eq, ne } from 'drizzle-orm';
import type { Config } from '../config.ts';
import { type Account, accounts } from '../db/schema/index.ts';
import { sha256Hex } from '../domain/identifiers.ts';
import { createSecrets, loadSecretKey, type Secrets, secretKeyWarning } from '../secrets.ts';
import { lockAccounts, retireDryRun, type Tx } from './account-set.ts';
import type { ServiceContext } from './context.ts';

/**
 * What every process that touches accounts does first (serve, submit, auth, accounts, goals sync): load
 * the secret key — `warn` gets the shared-PostgreSQL warning when it comes from a per-machine key file —
 * and bring the MSADS_* account into the accounts table.
 */
export async function prepareAccounts({
  ctx,
  config,
  warn,
}: {
  ctx: ServiceContext;
  config: Pick<Config, 'msads' | 'secretKey' | 'dataDir' | 'database'>;
  warn: (message: string) => void;
}): Promise<Secrets> {
  const warning = secretKeyWarning(config);
  if (warning) warn(warning);
  const secrets = createSecrets(loadSecretKey(config));
  await syncEnvAccount({ ctx, config, secrets });
  return secrets;
}

/** Placeholder ids of the built-in dry-run account (Microsoft's ids are 7+ digits; these never clash). */
export const dryRunIds = { msCustomerId: '1000', msAccountId: '2000' } as const;

/**
 * Bring the accounts table in line with the environment, at every start (serve, and CLI commands that
 * send or sign in). With MSADS_* set, that account is upserted (origin 'env'). Without, and with no
 * Microsoft account registered either, the built-in dry-run account is ensured so there is always a
 * default to send to. Returns the env account, the dry-run account, or undefined when neither applies
 * (accounts registered in the database only).
 */
export async function syncEnvAccount({
  ctx,
  config,
  secrets,
}: {
  ctx: ServiceContext;
  config: Pick<Config, 'msads'>;
  secrets: Secrets;
}): Promise<Account | undefined> {
  return ctx.database.db.transaction(async (tx) => {
    await lockAccounts(tx, ctx.customerId);
    const env = config.msads.envAccount;
    if (env) return upsertEnvAccount(tx, ctx, env, secrets);
    const [microsoft] = await tx
      .select()
      .from(accounts)
      .where(and(eq(accounts.customerId, ctx.customerId), eq(accounts.target, 'microsoft')))
      .orderBy(asc(accounts.createdAt));
    if (microsoft) {
      // MSADS_* were removed, or accounts were registered: a former env account keeps its stored
      // credentials (goals and history refer to it); the dry run steps aside.
      await retireDryRun(tx, ctx.customerId, ctx.now());
      if (!(await currentDefault(tx, ctx.customerId)))
        await tx.update(accounts).set({ isDefault: true }).where(eq(accounts.id, microsoft.id));
      return undefined;
    }
    return ensureDryRun(tx, ctx);
  });
}

type EnvAccount = NonNullable<Config['msads']['envAccount']>;

async function upsertEnvAccount(
  tx: Tx,
  ctx: ServiceContext,
  env: EnvAccount,
  secrets: Secrets,
): Promise<Account> {
  const now = ctx.now();
  await retireDryRun(tx, ctx.customerId, ctx.now());
  // MSADS_ACCOUNT_ID changed: the account configured before becomes a registered one (its credentials
  // stay usable) and hands its default flag to the one the environment names now.
  await tx
    .update(accounts)
    .set({ origin: 'database', isDefault: false, updatedAt: now })
    .where(
      and(
        eq(accounts.customerId, ctx.customerId),
        eq(accounts.origin, 'env'),
        ne(accounts.msAccountId, env.accountId),
      ),
    );
  const [existing] = await tx
    .select()
    .from(accounts)
    .where(and(eq(accounts.customerId, ctx.customerId), eq(accounts.msAccountId, env.accountId)));
  const otherDefault = await currentDefault(tx, ctx.customerId, existing?.id);
  // An MSADS_REFRESH_TOKEN different from the one last taken is a new consent: it replaces the stored
  // token. The same one again is not: Microsoft may have rotated it since, and the rotated one stored
  // here is the one that works.
  const envHash = env.refreshToken ? sha256Hex(env.refreshToken) : undefined;
  const newToken =
    env.refreshToken && envHash !== existing?.refreshTokenEnvHash
      ? {
          refreshTokenEnc: secrets.encrypt(env.refreshToken),
          refreshTokenEnvHash: envHash,
          accessTokenEnc: null,
          accessTokenExpiresAt: null,
          authStatus: 'unknown' as const,
          authError: null,
        }
      : {};
  const values = {
    target: 'microsoft' as const,
    origin: 'env' as const,
    msCustomerId: env.customerId,
    msAccountId: env.accountId,
    developerTokenEnc: secrets.encrypt(env.developerToken),
    clientId: env.clientId,
    clientSecretEnc: env.clientSecret ? secrets.encrypt(env.clientSecret) : null,
    // The configured defaults (MSADS_API_BASE_URL, MSADS_OAUTH_TOKEN_URL) apply, read at each start.
    apiBaseUrl: null,
    oauthTokenUrl: null,
    updatedAt: now,
    ...newToken,
  };
  if (existing) {
    const [row] = await tx
      .update(accounts)
      .set({ ...values, isDefault: existing.isDefault || !otherDefault })
      .where(eq(accounts.id, existing.id))
      .returning();
    return row!;
  }
  const [row] = await tx
    .insert(accounts)
    .values({
      ...values,
      customerId: ctx.customerId,
      name: `Microsoft Advertising ${env.accountId}`,
      isDefault: !otherDefault,
      createdAt: now,
    })
    .returning();
  return row!;
}

async function ensureDryRun(tx: Tx, ctx: ServiceContext): Promise<Account> {
  const hasDefault = Boolean(await currentDefault(tx, ctx.customerId));
  const [existing] = await tx
    .select()
    .from(accounts)
    .where(and(eq(accounts.customerId, ctx.customerId), eq(accounts.origin, 'dry-run')));
  if (existing) {
    if (existing.isDefault || hasDefault) return existing;
    const [row] = await tx
      .update(accounts)
      .set({ isDefault: true })
      .where(eq(accounts.id, existing.id))
      .returning();
    return row!;
  }
  const now = ctx.now();
  const [row] = await tx
    .insert(accounts)
    .values({
      customerId: ctx.customerId,
      name: 'Dry run (built-in emulator)',
      target: 'emulator',
      origin: 'dry-run',
      isDefault: !hasDefault,
      ...dryRunIds,
      authStatus: 'ok',
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return row!;
}

async function currentDefault(tx: Tx, customerId: string, except?: string) {
  const rows = await tx
    .select({ id: accounts.id })
    .from(accounts)
    .where(and(eq(accounts.customerId, customerId), eq(accounts.isDefault, true)));
  return rows.find((r) => r.id !== except);
}
