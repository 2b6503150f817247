import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** API keys are shown once and stored only as a SHA-256 hash (they are 256-bit random, so no salt is needed). */
export const apiKeys = pgTable('api_keys', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  /** The first characters of the key, to tell keys apart in lists without revealing them. */
  prefix: text('prefix').notNull(),
  hash: text('hash').notNull().unique(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

export type ApiKey = typeof apiKeys.$inferSelect;
