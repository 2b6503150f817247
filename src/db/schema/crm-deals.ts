import { bigint, boolean, numeric, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * What closeloop last sent for one deal of a connector (the last conversion: its ledger id, exact time,
 * value and currency, retracted or not), when it first saw the deal won, and why it was last skipped.
 * A re-read or redelivered deal is compared with this row, so it makes nothing new, and a changed deal
 * exactly one adjustment.
 */
export const crmDeals = pgTable(
  'crm_deals',
  {
    connectorId: uuid('connector_id').notNull(),
    dealId: text('deal_id').notNull(),
    name: text('name'),
    /** The last conversion sent: its ledger row (the original when it arrived as a duplicate). */
    conversionId: bigint('conversion_id', { mode: 'number' }),
    conversionTime: timestamp('conversion_time', { withTimezone: true }),
    clickId: text('click_id'),
    /** Which rule of crm-flow.md A found the click ID ("Opportunity.MSCLKID__c"). */
    clickRule: text('click_rule'),
    value: numeric('value', { precision: 15, scale: 3 }),
    currency: text('currency'),
    retracted: boolean('retracted').notNull().default(false),
    firstSeenWonAt: timestamp('first_seen_won_at', { withTimezone: true }),
    /** Why the deal was last skipped (no_click_id …) and what to do; null when it was not. */
    skipReason: text('skip_reason'),
    skipMessage: text('skip_message'),
    modifiedAt: timestamp('modified_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.connectorId, t.dealId] })],
);

export type CrmDeal = typeof crmDeals.$inferSelect;
