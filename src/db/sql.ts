import { type SQL, sql } from 'drizzle-orm';

/**
 * A timestamp parameter for raw SQL. drizzle hands postgres.js timestamps as text (it turns off
 * postgres.js's Date serializer), so a Date object in a raw statement fails there; ISO text with a
 * cast works the same on PGlite and PostgreSQL.
 */
export function ts(d: Date): SQL {
  return sql`${d.toISOString()}::timestamptz`;
}
