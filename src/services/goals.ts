import { and, asc, eq } from 'drizzle-orm';
import { type Goal, goals } from '../db/schema/index.ts';
import { goalReadyAt } from '../domain/conversion-rules.ts';
import { goalInputSchema, goalPatchSchema } from '../domain/goal.ts';
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
  const { db } = ctx.database;
  const existing = await db
    .select({ id: goals.id })
    .from(goals)
    .where(and(eq(goals.customerId, ctx.customerId), eq(goals.name, g.name)));
  if (existing.length > 0)
    throw new AppError(
      'conflict',
      `A goal named "${g.name}" already exists (goal names are unique per customer).`,
    );
  const now = ctx.now();
  const [row] = await db
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
  if (!row)
    throw new AppError(
      'not_found',
      `No goal "${idOrName}". List goals with GET /api/v1/goals or \`closeloop goals list\`.`,
    );
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
