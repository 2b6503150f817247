import { sql } from 'drizzle-orm';
import { check, integer, numeric, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** An offline conversion goal. Its name is what rows put in "Conversion Name" (unique per customer). */
export const goals = pgTable(
  'goals',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: text('customer_id').notNull().default('default'),
    /** Account the goal belongs to when scope is 'account'; null for customer-wide goals. */
    accountId: text('account_id'),
    name: text('name').notNull(),
    scope: text('scope', { enum: ['account', 'customer'] })
      .notNull()
      .default('account'),
    revenueType: text('revenue_type', { enum: ['fixed', 'variable', 'none'] })
      .notNull()
      .default('none'),
    revenueValue: numeric('revenue_value', { precision: 15, scale: 3 }),
    currency: text('currency'),
    countType: text('count_type', { enum: ['all', 'unique'] })
      .notNull()
      .default('all'),
    conversionWindowMinutes: integer('conversion_window_minutes').notNull().default(43_200),
    status: text('status', { enum: ['active', 'paused'] })
      .notNull()
      .default('active'),
    /** Microsoft accepts uploads for a goal 2 hours after this instant (error 5615 before). */
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** Microsoft's id once the goal exists there (created by the submitter, or imported by `goals sync`). */
    msadsGoalId: text('msads_goal_id'),
    /**
     * When Microsoft starts accepting conversions for the goal: 2 hours after it was created there, or the
     * moment it was imported for goals that already existed. Null: 2 hours after createdAt.
     */
    readyAt: timestamp('ready_at', { withTimezone: true }),
    /** Why the last attempt to create or change the goal in Microsoft failed (shown until it succeeds). */
    msadsError: text('msads_error'),
    /**
     * The updatedAt that Microsoft has: a goal changed here since (paused, new window) is sent again
     * with UpdateConversionGoals.
     */
    msadsSyncedAt: timestamp('msads_synced_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('goals_customer_name_key').on(t.customerId, t.name),
    check('goals_window_range', sql`${t.conversionWindowMinutes} between 1 and 129600`),
    check('goals_name_length', sql`char_length(${t.name}) between 1 and 100`),
  ],
);

export type Goal = typeof goals.$inferSelect;
