import { and, eq, isNotNull } from 'drizzle-orm';
import type { Config } from '../config.ts';
import { type Account, accounts, goals } from '../db/schema/index.ts';
import { goalReadyAt } from '../domain/conversion-rules.ts';
import type { Logger } from '../log.ts';
import type { MsadsClient } from '../msads/client.ts';
import { createEmulator, type Emulator } from '../msads/emulator/index.ts';
import type { Secrets } from '../secrets.ts';
import { prepareAccounts } from '../services/accounts.ts';
import { autoTagging } from '../services/auto-tagging.ts';
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
  /** The Microsoft Advertising client of an account (the built-in emulator's for the dry run). */
  clientFor: (account: Account) => MsadsClient;
}

export async function openSending(ctx: ServiceContext, config: Config, log: Logger): Promise<Sending> {
  const secrets = await prepareAccounts({ ctx, config, warn: (m) => log.warn(m) });
  // The built-in emulator keeps its state in memory. Goals closeloop created in it before a restart
  // are created in it again, with their original age, so the dry run does not answer 5606 for them.
  const emulator = createEmulator({
    auth: 'open',
    record: 100,
    keepItems: false,
    goalWarmUpMs: config.dryRunGoalDelayMs,
  });
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
      createdAt: new Date(goalReadyAt(goal).getTime() - config.dryRunGoalDelayMs),
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
    clientFor: (account) => clientFor(account, deps),
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
      const view = await autoTagging({ ctx, accountId: a.id, client: sending.clientFor });
      if (view.autoTagging === false && !view.dryRun)
        log.warn('MSCLKID auto-tagging is off', { account: a.name, fix: view.autoTaggingWarning });
    } catch (err) {
      log.warn('could not read MSCLKID auto-tagging', { account: a.name, error: (err as Error).message });
    }
  }
}
