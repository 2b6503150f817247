import { and, eq, gt, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import { type Database, queryVia } from '../db/client.ts';
import { type Goal, goals } from '../db/schema/index.ts';
import { ts } from '../db/sql.ts';
import { goalReadyAt } from '../domain/conversion-rules.ts';
import { goalWarmUpMs } from '../domain/goal.ts';
import { type MsadsClient, MsadsError, unwrap } from '../msads/client.ts';
import { maxGoalsPerCall, type WireConversionGoal } from '../msads/wire.ts';

/** The account a goal is sent through, as the submitter knows it. */
export interface GoalAccount {
  /** closeloop's account row id. */
  id: string;
  customerId: string;
  msAccountId: string;
  /** Goals with no account id (and customer-wide goals) go through the default account. */
  isDefault: boolean;
  /**
   * How long after creating a goal the target takes conversions for it.
   * @default 2 hours (Microsoft's rule; the dry run's emulator may take them at once)
   */
  goalWarmUpMs?: number;
}

/**
 * GoalCategory is required when adding a goal; closeloop's goals have none, and offline goals are
 * mostly closed deals. One constant, so a different default is one line.
 */
export const defaultGoalCategory = 'Purchase';

/** How long after a failed creation a goal is tried again. */
export const goalRetryMs = 5 * 60_000;

/** Goals sent through this account: its own, plus the unassigned and customer-wide ones when it is the default. */
export function goalsOfAccount(account: GoalAccount) {
  const own = eq(goals.accountId, account.msAccountId);
  return and(
    eq(goals.customerId, account.customerId),
    account.isDefault ? or(own, isNull(goals.accountId), eq(goals.scope, 'customer')) : own,
  );
}

/** Ids of the account's goals that exist in Microsoft and are old enough to take conversions (5615). */
export async function readyGoalIds(database: Database, account: GoalAccount, now: Date): Promise<string[]> {
  const rows = await database.db
    .select({
      id: goals.id,
      createdAt: goals.createdAt,
      readyAt: goals.readyAt,
      msadsGoalId: goals.msadsGoalId,
    })
    .from(goals)
    .where(goalsOfAccount(account));
  return rows.filter((g) => g.msadsGoalId !== null && goalReadyAt(g) <= now).map((g) => g.id);
}

export function toWireGoal(g: Goal): WireConversionGoal {
  const value = g.revenueValue === null ? undefined : Number(g.revenueValue);
  return {
    Type: 'OfflineConversion',
    Name: g.name,
    ConversionWindowInMinutes: g.conversionWindowMinutes,
    CountType: g.countType === 'unique' ? 'Unique' : 'All',
    Revenue: {
      Type:
        g.revenueType === 'fixed' ? 'FixedValue' : g.revenueType === 'variable' ? 'VariableValue' : 'NoValue',
      ...(value !== undefined ? { Value: value } : {}),
      ...(g.currency ? { CurrencyCode: g.currency } : {}),
    },
    Scope: g.scope === 'customer' ? 'Customer' : 'Account',
    Status: g.status === 'paused' ? 'Paused' : 'Active',
    GoalCategory: defaultGoalCategory,
  };
}

export interface PushReport {
  created: number;
  adopted: number;
  /** Goals changed here (paused, resumed, new window or count type) and sent with UpdateConversionGoals. */
  updated: number;
  failed: number;
}

/**
 * Create in Microsoft the goals that exist only here (AddConversionGoals, ≤100 per call). Microsoft
 * takes conversions for a goal 2 hours after creating it, so the goal's readiness restarts at that
 * moment and its held rows wait until then. A goal whose name already exists there (5317) is adopted.
 * On PostgreSQL, a transaction-level advisory lock per account keeps two processes from both creating it.
 */
export async function pushGoals(
  database: Database,
  input: { account: GoalAccount; client: MsadsClient; now: Date },
): Promise<PushReport> {
  const report: PushReport = { created: 0, adopted: 0, updated: 0, failed: 0 };
  const work = async (query: Database['query']) => {
    // A goal whose creation failed is tried again after a while, not on every round.
    const retryBefore = new Date(input.now.getTime() - goalRetryMs);
    const pending = await database.db
      .select()
      .from(goals)
      .where(
        and(
          goalsOfAccount(input.account),
          isNull(goals.msadsGoalId),
          or(isNull(goals.msadsError), lt(goals.updatedAt, retryBefore)),
        ),
      );
    for (let i = 0; i < pending.length; i += maxGoalsPerCall) {
      const chunk = pending.slice(i, i + maxGoalsPerCall);
      const result = await input.client.addConversionGoals(chunk.map(toWireGoal));
      if (!result.ok) {
        const message = new MsadsError(result.fault).message;
        for (const g of chunk) await setGoalError(query, g.id, message, input.now);
        report.failed += chunk.length;
        continue;
      }
      const errors = new Map((result.body.PartialErrors ?? []).map((e) => [e.Index, e]));
      const ready = new Date(input.now.getTime() + (input.account.goalWarmUpMs ?? goalWarmUpMs));
      for (const [index, g] of chunk.entries()) {
        const id = result.body.ConversionGoalIds?.[index];
        const error = errors.get(index);
        if (id) {
          await linkGoal(query, g.id, id, ready, input.now);
          report.created++;
        } else if (error?.Code === 5317) {
          // It exists already: adopt it (found by name), ready at once like any goal that predates closeloop.
          const existing = await findByName(input.client, g.name);
          if (existing?.Id) {
            await linkGoal(query, g.id, existing.Id, input.now, input.now);
            report.adopted++;
          } else {
            await setGoalError(query, g.id, `${error.ErrorCode}: ${error.Message}`, input.now);
            report.failed++;
          }
        } else {
          await setGoalError(
            query,
            g.id,
            error ? `${error.Code} ${error.ErrorCode}: ${error.Message}` : 'Microsoft returned no id for it',
            input.now,
          );
          report.failed++;
        }
      }
    }
  };
  const workAll = async (query: Database['query']) => {
    await work(query);
    await pushChanges(database, query, input, report);
  };
  if (database.kind === 'pglite') {
    // One process owns a PGlite database; no lock needed, and none held across the HTTP call.
    await workAll(database.query);
    return report;
  }
  await database.db.transaction(async (tx) => {
    const query = queryVia(tx);
    const [lock] = await query<{ ok: boolean }>(
      sql`select pg_try_advisory_xact_lock(7361003, hashtext(${input.account.id})) as ok`,
    );
    if (lock?.ok) await workAll(query);
  });
  return report;
}

/**
 * Goals changed here since Microsoft last got them (updatedAt later than msadsSyncedAt): their status,
 * conversion window and count type go out with UpdateConversionGoals, ≤100 per call. What Microsoft
 * refuses stays on the goal as msadsError and is tried again after `goalRetryMs`.
 */
async function pushChanges(
  database: Database,
  query: Database['query'],
  input: { account: GoalAccount; client: MsadsClient; now: Date },
  report: PushReport,
) {
  const retryBefore = new Date(input.now.getTime() - goalRetryMs);
  const changed = await database.db
    .select()
    .from(goals)
    .where(
      and(
        goalsOfAccount(input.account),
        isNotNull(goals.msadsGoalId),
        or(isNull(goals.msadsSyncedAt), gt(goals.updatedAt, goals.msadsSyncedAt)),
        or(isNull(goals.msadsError), lt(goals.updatedAt, retryBefore)),
      ),
    );
  for (let i = 0; i < changed.length; i += maxGoalsPerCall) {
    const chunk = changed.slice(i, i + maxGoalsPerCall);
    const result = await input.client.updateConversionGoals(
      chunk.map((g) => ({
        Type: 'OfflineConversion' as const,
        Id: g.msadsGoalId!,
        Status: g.status === 'paused' ? ('Paused' as const) : ('Active' as const),
        ConversionWindowInMinutes: g.conversionWindowMinutes,
        CountType: g.countType === 'unique' ? ('Unique' as const) : ('All' as const),
      })),
    );
    const errors = new Map(result.ok ? (result.body.PartialErrors ?? []).map((e) => [e.Index, e]) : []);
    for (const [index, g] of chunk.entries()) {
      const error = errors.get(index);
      if (result.ok && !error) {
        // Synced up to the version that was sent (compared to the millisecond, as JavaScript read it): a
        // change made meanwhile stays pending.
        await query(sql`
          update goals
             set msads_synced_at = case when date_trunc('milliseconds', updated_at) = ${ts(g.updatedAt)}
                                        then updated_at else msads_synced_at end,
                 msads_error = null
           where id = ${g.id}::uuid`);
        report.updated++;
      } else {
        const message = !result.ok
          ? new MsadsError(result.fault).message
          : `${error!.Code} ${error!.ErrorCode}: ${error!.Message}`;
        await setGoalError(query, g.id, `Changing the goal in Microsoft failed: ${message}`, input.now);
        report.failed++;
      }
    }
  }
}

async function findByName(client: MsadsClient, name: string): Promise<WireConversionGoal | undefined> {
  const result = await client.getConversionGoalsByIds();
  if (!result.ok) return undefined;
  return (result.body.ConversionGoals ?? []).find((g) => g?.Name === name) ?? undefined;
}

async function linkGoal(query: Database['query'], id: string, msadsId: string, readyAt: Date, now: Date) {
  await query(sql`
    update goals set msads_goal_id = ${msadsId}, ready_at = ${ts(readyAt)}, msads_error = null,
           updated_at = ${ts(now)}, msads_synced_at = ${ts(now)}
     where id = ${id}::uuid`);
  // Held rows of the goal wait for its readiness at Microsoft, not the one guessed at upload (2 hours
  // after the goal was created here): later when it was created there later, sooner when the target
  // takes conversions at once (the dry run). A click under 1 hour old still holds its row.
  const until = sql`greatest(${ts(readyAt)}, coalesce(c.click_time + interval '1 hour', ${ts(readyAt)}))`;
  await query(sql`
    update conversions c set held_until = ${until}
     where c.state = 'held' and c.goal_id = ${id}::uuid`);
  await query(sql`
    update adjustments a set held_until = ${until}
      from conversions c
     where a.state = 'held' and c.id = a.conversion_id and c.goal_id = ${id}::uuid`);
}

async function setGoalError(query: Database['query'], id: string, message: string, now: Date) {
  await query(sql`update goals set msads_error = ${message}, updated_at = ${ts(now)} where id = ${id}::uuid`);
}

export interface SyncReport {
  imported: string[];
  linked: string[];
  unchanged: string[];
}

/**
 * `closeloop goals sync`: import the offline goals that already exist in the Microsoft account
 * (GetConversionGoalsByIds with no ids = all of them). They existed before closeloop saw them, so they
 * count as older than 2 hours: ready at once. A local goal of the same name is linked to it.
 */
export async function syncGoals(
  database: Database,
  input: { account: GoalAccount; client: MsadsClient; now: Date },
): Promise<SyncReport> {
  const body = unwrap(await input.client.getConversionGoalsByIds());
  const report: SyncReport = { imported: [], linked: [], unchanged: [] };
  const local = await database.db.select().from(goals).where(eq(goals.customerId, input.account.customerId));
  const byName = new Map(local.map((g) => [g.name, g]));
  for (const remote of body.ConversionGoals ?? []) {
    if (!remote?.Id || !remote.Name || remote.Type !== 'OfflineConversion') continue;
    const existing = byName.get(remote.Name);
    if (existing) {
      if (existing.msadsGoalId === remote.Id) report.unchanged.push(remote.Name);
      else {
        await linkGoal(database.query, existing.id, remote.Id, input.now, input.now);
        report.linked.push(remote.Name);
      }
      continue;
    }
    const revenue = remote.Revenue;
    await database.db.insert(goals).values({
      customerId: input.account.customerId,
      accountId: remote.Scope === 'Customer' ? null : input.account.msAccountId,
      name: remote.Name,
      scope: remote.Scope === 'Customer' ? 'customer' : 'account',
      revenueType:
        revenue?.Type === 'FixedValue' ? 'fixed' : revenue?.Type === 'VariableValue' ? 'variable' : 'none',
      revenueValue:
        revenue?.Type !== 'NoValue' && revenue?.Value !== undefined && revenue?.Value !== null
          ? String(revenue.Value)
          : null,
      currency: revenue?.CurrencyCode ?? null,
      countType: remote.CountType === 'Unique' ? 'unique' : 'all',
      conversionWindowMinutes: remote.ConversionWindowInMinutes ?? 43_200,
      status: remote.Status === 'Paused' ? 'paused' : 'active',
      msadsGoalId: remote.Id,
      readyAt: input.now,
      createdAt: input.now,
      updatedAt: input.now,
      msadsSyncedAt: input.now,
    });
    report.imported.push(remote.Name);
  }
  return report;
}

/**
 * The dry run steps aside for a real account (MSADS_* set, or an account registered): the goals it
 * carried as the default were created in the built-in emulator, and the ids and readiness it gave them
 * mean nothing at Microsoft — sent as they were, every row would come back 5606. Their link is
 * forgotten, so the submitter creates them in the real account (AddConversionGoals, or adopts one of the
 * same name, 5317) and their rows wait the 2 hours Microsoft needs. Goals assigned to the dry-run
 * account itself keep going to it.
 */
export async function forgetDryRunGoalLinks(
  query: Database['query'],
  input: { customerId: string; now: Date },
): Promise<number> {
  const rows = await query(sql`
    update goals set msads_goal_id = null, ready_at = null, msads_synced_at = null, msads_error = null,
           updated_at = ${ts(input.now)}
     where customer_id = ${input.customerId} and msads_goal_id is not null
       and (account_id is null or scope = 'customer')
    returning id`);
  return rows.length;
}

/** The account's goals Microsoft refused to create or change, with why: their rows cannot go meanwhile. */
export async function goalErrors(
  database: Database,
  account: GoalAccount,
): Promise<{ name: string; error: string }[]> {
  const rows = await database.db
    .select({ name: goals.name, error: goals.msadsError })
    .from(goals)
    .where(and(goalsOfAccount(account), isNotNull(goals.msadsError)));
  return rows.map((r) => ({ name: r.name, error: r.error ?? '' }));
}
