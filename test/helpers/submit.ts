import { sql } from 'drizzle-orm';
import type { SubmitConfig } from '../../src/config.ts';
import type { Database } from '../../src/db/client.ts';
import { accounts, goals } from '../../src/db/schema/index.ts';
import { ts } from '../../src/db/sql.ts';
import { createLogger } from '../../src/log.ts';
import { createMsadsClient, type MsadsClient } from '../../src/msads/client.ts';
import { createEmulator, type Emulator } from '../../src/msads/emulator/index.ts';
import { createSubmitter, type SubmitAccount, type SubmitterOptions } from '../../src/submit/submitter.ts';

export const quietLog = createLogger('silent');

/** Fast limits for tests: calls are 10 ms apart, backoff in tens of milliseconds. */
export function submitConfig(overrides: Partial<SubmitConfig> = {}): SubmitConfig {
  return {
    callsPerMinute: 6000,
    concurrency: 2,
    timeoutMs: 5000,
    maxAttempts: 5,
    backoffBaseMs: 20,
    backoffCapMs: 200,
    claimTimeoutMs: 60_000,
    pollMs: 50,
    ...overrides,
  };
}

/** An account row for the emulator (as the dry run has), default for its customer. */
export async function addAccount(
  database: Database,
  input: Partial<{
    name: string;
    msCustomerId: string;
    msAccountId: string;
    isDefault: boolean;
    callsPerMinute: number;
  }> = {},
): Promise<SubmitAccount> {
  const [row] = await database.db
    .insert(accounts)
    .values({
      name: input.name ?? 'Test account',
      target: 'emulator',
      origin: 'database',
      isDefault: input.isDefault ?? true,
      msCustomerId: input.msCustomerId ?? '1000',
      msAccountId: input.msAccountId ?? '2000',
      callsPerMinute: input.callsPerMinute ?? null,
    })
    .returning();
  return {
    id: row!.id,
    name: row!.name,
    customerId: row!.customerId,
    msAccountId: row!.msAccountId,
    isDefault: row!.isDefault,
    target: row!.target,
    callsPerMinute: row!.callsPerMinute,
  };
}

/** A goal that exists at Microsoft and takes conversions (ready), unless told otherwise. */
export async function addGoal(
  database: Database,
  input: {
    name: string;
    msadsGoalId?: string | null;
    readyAt?: Date;
    accountId?: string | null;
    currency?: string;
  },
): Promise<string> {
  const synced = new Date();
  const [row] = await database.db
    .insert(goals)
    .values({
      name: input.name,
      accountId: input.accountId ?? null,
      revenueType: 'variable',
      currency: input.currency ?? 'USD',
      msadsGoalId: input.msadsGoalId === undefined ? '9001' : input.msadsGoalId,
      readyAt: input.readyAt ?? new Date(Date.now() - 3 * 3600_000),
      createdAt: new Date(Date.now() - 3 * 3600_000),
      // As Microsoft has it: nothing to send with UpdateConversionGoals.
      updatedAt: synced,
      msadsSyncedAt: synced,
    })
    .returning();
  return row!.id;
}

/**
 * Queue `count` conversions for a goal straight into the ledger (the ingest paths are tested elsewhere).
 * Click IDs are md5(salt || i): distinct and well-formed. Returns nothing; read the ledger to check.
 */
export async function queueConversions(
  database: Database,
  input: {
    goalId: string;
    goalName: string;
    count: number;
    conversionTime?: Date;
    salt?: string;
    state?: 'queued' | 'held';
    heldUntil?: Date;
    value?: number;
  },
): Promise<void> {
  const time = input.conversionTime ?? new Date(Date.now() - 24 * 3600_000);
  await database.query(sql`
    insert into conversions (goal_id, goal_name, click_id, match_key, conversion_time, value, currency, state,
                             held_until, source, source_ref)
    select ${input.goalId}::uuid, ${input.goalName}, md5(${input.salt ?? 's'} || i::text), md5(${input.salt ?? 's'} || i::text),
           ${ts(time)}, ${input.value ?? 10}, 'USD', ${input.state ?? 'queued'},
           ${input.heldUntil ? ts(input.heldUntil) : sql`null`}, 'api', 'test:' || i
      from generate_series(1, ${input.count}) i`);
}

export async function states(database: Database, table: 'conversions' | 'adjustments' = 'conversions') {
  const rows = await database.query<{ state: string; n: number }>(
    sql`select state, count(*)::int as n from ${sql.raw(table)} group by state order by state`,
  );
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

/** A client that reaches an in-process emulator through its fetch handler (no socket). */
export function emulatorClient(
  fetchHandler: (r: Request) => Promise<Response>,
  account: SubmitAccount,
  token = 'test-token',
): MsadsClient {
  return createMsadsClient({
    baseUrl: 'http://emulator.test',
    developerToken: 'dev-token',
    customerId: '1000',
    accountId: account.msAccountId,
    tokens: { accessToken: async () => token },
    fetch: fetchHandler,
    timeoutMs: 2000,
  });
}

export function testSubmitter(
  database: Database,
  targets: { account: SubmitAccount; client: MsadsClient }[],
  overrides: Omit<Partial<SubmitterOptions>, 'config'> & { config?: Partial<SubmitConfig> } = {},
) {
  const { config, ...rest } = overrides;
  return createSubmitter({
    database,
    config: submitConfig(config),
    targets: async () => targets,
    log: quietLog,
    ...rest,
  });
}

/**
 * A fresh emulator that knows `goalName` (created a day ago, so it takes conversions), and an empty queue:
 * no rows, no submissions, no account pause or rate-limit slot left from an earlier test.
 */
export async function resetSending(database: Database, goalName: string): Promise<Emulator> {
  const emulator = createEmulator({ auth: 'open' });
  emulator.addGoal({
    customerId: '1000',
    accountId: '2000',
    name: goalName,
    createdAt: new Date(Date.now() - 86_400_000),
  });
  await database.query(sql`delete from adjustments`);
  await database.query(sql`delete from conversions`);
  await database.query(sql`delete from submissions`);
  await database.query(
    sql`update accounts set paused_until = null, pause_reason = null, next_call_at = null`,
  );
  return emulator;
}
