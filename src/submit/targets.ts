import { eq } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { type Account, accounts } from '../db/schema/index.ts';
import type { Logger } from '../log.ts';
import { createMsadsClient, type MsadsClient } from '../msads/client.ts';
import { createAccountTokens, staticToken } from '../msads/oauth.ts';
import type { Secrets } from '../secrets.ts';
import type { SubmitAccount, SubmitTarget } from './submitter.ts';

/** The developer token the built-in emulator is sent (it checks that one is present, not its value). */
const dryRunDeveloperToken = 'dry-run';

export interface TargetDeps {
  database: Database;
  config: Pick<Config, 'customerId' | 'msads' | 'submit' | 'dryRunGoalDelayMs'>;
  secrets: Secrets;
  log: Logger;
  /** The built-in emulator's fetch handler, for accounts whose target is 'emulator' (the dry run). */
  emulatorFetch: (request: Request) => Promise<Response>;
  fetch?: (request: Request) => Promise<Response>;
  now?: () => Date;
}

export function submitAccount(a: Account): SubmitAccount {
  return {
    id: a.id,
    name: a.name,
    customerId: a.customerId,
    msAccountId: a.msAccountId,
    isDefault: a.isDefault,
    target: a.target,
    callsPerMinute: a.callsPerMinute,
  };
}

/**
 * A client for one account: Microsoft with its OAuth tokens and developer token, or the in-process
 * emulator (dry run) with a fixed token. Throws when a Microsoft account has no refresh token yet.
 */
export function clientFor(account: Account, deps: TargetDeps): MsadsClient {
  const common = {
    customerId: account.msCustomerId,
    accountId: account.msAccountId,
    timeoutMs: deps.config.submit.timeoutMs,
    log: deps.log,
  };
  if (account.target === 'emulator')
    return createMsadsClient({
      ...common,
      baseUrl: 'http://dry-run.emulator.invalid',
      developerToken: dryRunDeveloperToken,
      tokens: staticToken('dry-run'),
      fetch: deps.emulatorFetch,
    });
  if (!account.developerTokenEnc)
    throw new Error(
      `account "${account.name}" has no developer token; set MSADS_DEVELOPER_TOKEN or register it again`,
    );
  return createMsadsClient({
    ...common,
    baseUrl: account.apiBaseUrl ?? deps.config.msads.apiBaseUrl,
    developerToken: deps.secrets.decrypt(account.developerTokenEnc),
    tokens: createAccountTokens({
      database: deps.database,
      secrets: deps.secrets,
      accountId: account.id,
      defaultTokenUrl: deps.config.msads.tokenUrl,
      log: deps.log,
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.fetch ? { fetch: deps.fetch as typeof fetch } : {}),
    }),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
}

/**
 * The submitter's accounts, read again each round (an account added, re-authorised or fixed is picked
 * up without a restart). Clients are kept while the account's connection settings stay the same, so
 * their cached access tokens survive between rounds. Accounts that need a re-consent are skipped.
 */
export function accountTargets(deps: TargetDeps): () => Promise<SubmitTarget[]> {
  const cache = new Map<string, { key: string; client: MsadsClient }>();
  const warned = new Set<string>();
  return async () => {
    const rows = await deps.database.db
      .select()
      .from(accounts)
      .where(eq(accounts.customerId, deps.config.customerId));
    const targets: SubmitTarget[] = [];
    for (const a of rows) {
      if (a.authStatus === 'reconsent_needed' || (a.target === 'microsoft' && !a.refreshTokenEnc)) {
        if (!warned.has(a.id))
          deps.log.warn('account skipped: it needs a sign-in; run `closeloop auth login`', {
            account: a.name,
          });
        warned.add(a.id);
        continue;
      }
      warned.delete(a.id);
      const key = [
        a.target,
        a.apiBaseUrl,
        a.developerTokenEnc,
        a.msCustomerId,
        a.msAccountId,
        a.refreshTokenEnvHash,
      ].join('|');
      let entry = cache.get(a.id);
      if (!entry || entry.key !== key) {
        try {
          entry = { key, client: clientFor(a, deps) };
        } catch (err) {
          // One account that cannot be used (a secret that no longer decrypts) fails its own run, not
          // the others': the submitter reports it by name.
          targets.push({ account: submitAccount(a), error: err as Error });
          continue;
        }
        cache.set(a.id, entry);
      }
      // The dry run's emulator takes conversions for a new goal after CLOSELOOP_DRY_RUN_GOAL_DELAY.
      const warmUp = a.target === 'emulator' ? { goalWarmUpMs: deps.config.dryRunGoalDelayMs } : {};
      targets.push({ account: { ...submitAccount(a), ...warmUp }, client: entry.client });
    }
    return targets;
  };
}
