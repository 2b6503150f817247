import { and, eq, isNotNull } from 'drizzle-orm';
import type { Config } from '../config.ts';
import { accounts, goals } from '../db/schema/index.ts';
import { goalReadyAt } from '../domain/conversion-rules.ts';
import { goalWarmUpMs } from '../domain/goal.ts';
import type { Logger } from '../log.ts';
import { createEmulator, type Emulator } from '../msads/emulator/index.ts';
import { createSecrets, loadSecretKey, type Secrets, secretKeyWarning } from '../secrets.ts';
import { syncEnvAccount } from '../services/accounts.ts';
import { checkAutoTagging } from '../services/auto-tagging.ts';
import type { ServiceContext } from '../services/context.ts';
import { createSubmitter } from './submitter.ts';
import { accountTargets, clientFor } from './targets.ts';

/**
 * Everything that sending needs, set up once per process: the secret key, the accounts table brought in
 * line with MSADS_*, the built-in emulator for the dry run, and the submitter over all accounts.
 */
export interface Sending {
  secrets: Secrets;
  emulator: Emulator;
  /** True when no account sends to Microsoft: everything goes to the built-in emulator. */
  dryRun: boolean;
  submitter: ReturnType<typeof createSubmitter>;
  clientForAccount: (accountId: string) => Promise<ReturnType<typeof clientFor>>;
}

export async function openSending(ctx: ServiceContext, config: Config, log: Logger): Promise<Sending> {
  const warning = secretKeyWarning(config);
  if (warning) log.warn(warning);
  const secrets = createSecrets(loadSecretKey(config));
  await syncEnvAccount({ ctx, config, secrets });
  // The built-in emulator keeps its state in memory. Goals closeloop created in it before a restart
  // are created in it again, with their original age, so the dry run does not answer 5606 for them.
  const emulator = createEmulator({ auth: 'open', record: 100, keepItems: false });
  const rows = await ctx.database.db
    .select({ goal: goals, account: accounts })
    .from(goals)
    .innerJoin(accounts, and(eq(accounts.customerId, goals.customerId), eq(accounts.target, 'emulator')))
    .where(and(eq(goals.customerId, ctx.customerId), isNotNull(goals.msadsGoalId)));
  for (const { goal, account } of rows)
    emulator.addGoal({
      ...(goal.msadsGoalId ? { id: goal.msadsGoalId } : {}),
      customerId: account.msCustomerId,
      accountId: account.msAccountId,
      name: goal.name,
      scope: goal.scope === 'customer' ? 'Customer' : 'Account',
      createdAt: new Date(goalReadyAt(goal).getTime() - goalWarmUpMs),
    });
  const all = await ctx.database.db.select().from(accounts).where(eq(accounts.customerId, ctx.customerId));
  const deps = { database: ctx.database, config, secrets, log, emulatorFetch: emulator.fetch, now: ctx.now };
  const submitter = createSubmitter({
    database: ctx.database,
    config: config.submit,
    targets: accountTargets(deps),
    log,
    now: ctx.now,
  });
  return {
    secrets,
    emulator,
    dryRun: !all.some((a) => a.target === 'microsoft'),
    submitter,
    clientForAccount: async (accountId) => {
      const [a] = await ctx.database.db.select().from(accounts).where(eq(accounts.id, accountId));
      if (!a) throw new Error(`no account ${accountId}`);
      return clientFor(a, deps);
    },
  };
}

/**
 * Read every account's MSCLKID auto-tagging from Microsoft and store it (at start, then daily), so the
 * accounts list and the dashboard warn when it is off. A failure is logged, never fatal.
 */
export async function refreshAutoTagging(ctx: ServiceContext, sending: Sending, log: Logger): Promise<void> {
  const all = await ctx.database.db.select().from(accounts).where(eq(accounts.customerId, ctx.customerId));
  for (const a of all) {
    if (a.authStatus === 'reconsent_needed' || (a.target === 'microsoft' && !a.refreshTokenEnc)) continue;
    try {
      const view = await checkAutoTagging({
        ctx,
        accountId: a.id,
        client: await sending.clientForAccount(a.id),
      });
      if (view.autoTagging === false && !view.dryRun)
        log.warn('MSCLKID auto-tagging is off', { account: a.name, fix: view.autoTaggingWarning });
    } catch (err) {
      log.warn('could not read MSCLKID auto-tagging', { account: a.name, error: (err as Error).message });
    }
  }
}
