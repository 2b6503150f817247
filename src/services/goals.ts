import { and, asc, eq, sql } from 'drizzle-orm';
import { type Goal, goals } from '../db/schema/index.ts';
import { goalReadyAt } from '../domain/conversion-rules.ts';
import { goalInputSchema, goalPatchSchema } from '../domain/goal.ts';
import { goalDirectory, goalNameKey } from '../domain/goal-names.ts';
import { nameProblem } from '../domain/names.ts';
import { AppError } from '../errors.ts';
import type { ServiceContext } from './context.ts';
import { isUuid } from './ids.ts';
import { validationError } from './zod-error.ts';

export interface GoalView {
  id: string;
  name: string;
  scope: 'account' | 'customer';
  accountId: string | null;
  revenue: { type: 'fixed' | 'variable' | 'none'; value: number | null; currency: string | null };
  countType: 'all' | 'unique';
  conversionWindowMinutes: number;
  status: 'active' | 'paused';
  createdAt: string;
  /** When Microsoft starts accepting conversions for it (2 hours after creation there; at once if imported). */
  acceptsConversionsFrom: string;
  /** Microsoft's id once the goal exists there; null until the submitter has created it. */
  msadsGoalId: string | null;
  /** Why creating it in Microsoft failed, until it succeeds. */
  msadsError: string | null;
}

export function goalView(g: Goal): GoalView {
  return {
    id: g.id,
    name: g.name,
    scope: g.scope,
    accountId: g.accountId,
    revenue: {
      type: g.revenueType,
      value: g.revenueValue === null ? null : Number(g.revenueValue),
      currency: g.currency,
    },
    countType: g.countType,
    conversionWindowMinutes: g.conversionWindowMinutes,
    status: g.status,
    createdAt: g.createdAt.toISOString(),
    acceptsConversionsFrom: goalReadyAt(g).toISOString(),
    msadsGoalId: g.msadsGoalId,
    msadsError: g.msadsError,
  };
}

export async function createGoal({ ctx, input }: { ctx: ServiceContext; input: unknown }): Promise<Goal> {
  const parsed = goalInputSchema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error, 'goal');
  const g = parsed.data;
  // Microsoft treats names that differ only in case as one goal; checked under a lock per customer so
  // that two processes cannot each add one spelling (the unique index only knows the exact name).
  return ctx.database.db.transaction(async (tx) => {
    // 7_361_010: closeloop's advisory lock class for goal names (see account-set.ts for the others).
    await tx.execute(sql`select pg_advisory_xact_lock(7361010, hashtext(${ctx.customerId}))`);
    // Compared here, not with SQL's lower(), which in the C locale folds ASCII only; a customer has
    // tens of goals, not thousands.
    const existing = await tx
      .select({ name: goals.name })
      .from(goals)
      .where(eq(goals.customerId, ctx.customerId));
    const taken = existing.find((e) => goalNameKey(e.name) === goalNameKey(g.name));
    if (taken)
      throw new AppError(
        'conflict',
        taken.name === g.name
          ? `A goal named "${g.name}" already exists (goal names are unique per customer).`
          : `A goal named "${taken.name}" already exists, and Microsoft treats goal names that differ only in case as the same goal; use "${taken.name}", or choose another name.`,
      );
    const now = ctx.now();
    const [row] = await tx
      .insert(goals)
      .values({
        customerId: ctx.customerId,
        accountId: g.accountId ?? null,
        name: g.name,
        scope: g.scope,
        revenueType: g.revenue.type,
        revenueValue: g.revenue.value === undefined ? null : String(g.revenue.value),
        currency: g.revenue.currency ?? null,
        countType: g.countType,
        conversionWindowMinutes: g.conversionWindow,
        status: g.status,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    return row!;
  });
}

export async function listGoals({ ctx }: { ctx: ServiceContext }): Promise<Goal[]> {
  return ctx.database.db
    .select()
    .from(goals)
    .where(eq(goals.customerId, ctx.customerId))
    .orderBy(asc(goals.name));
}

/** Find a goal by id or by exact name. */
export async function getGoal({ ctx, idOrName }: { ctx: ServiceContext; idOrName: string }): Promise<Goal> {
  // Text no goal can be named (a NUL, which PostgreSQL refuses) matches nothing.
  const [row] = nameProblem(idOrName)
    ? []
    : await ctx.database.db
        .select()
        .from(goals)
        .where(
          and(
            eq(goals.customerId, ctx.customerId),
            isUuid(idOrName) ? eq(goals.id, idOrName) : eq(goals.name, idOrName),
          ),
        );
  if (!row) {
    const meant = isUuid(idOrName) ? undefined : goalDirectory(await listGoals({ ctx })).similar(idOrName);
    throw new AppError(
      'not_found',
      meant
        ? `No goal "${idOrName}"; did you mean "${meant}"? Names match exactly, case and spaces included.`
        : `No goal "${idOrName}". List goals with GET /api/v1/goals or \`closeloop goals list\`.`,
    );
  }
  return row;
}

/** Goals cannot be deleted at Microsoft, only paused; the same holds here. */
export async function updateGoal({
  ctx,
  idOrName,
  patch,
}: {
  ctx: ServiceContext;
  idOrName: string;
  patch: unknown;
}): Promise<Goal> {
  const parsed = goalPatchSchema.safeParse(patch);
  if (!parsed.success) throw validationError(parsed.error, 'goal change');
  const goal = await getGoal({ ctx, idOrName });
  const p = parsed.data;
  const [row] = await ctx.database.db
    .update(goals)
    .set({
      ...(p.status ? { status: p.status } : {}),
      ...(p.countType ? { countType: p.countType } : {}),
      ...(p.conversionWindow ? { conversionWindowMinutes: p.conversionWindow } : {}),
      updatedAt: ctx.now(),
    })
    .where(eq(goals.id, goal.id))
    .returning();
  return row!;
}
