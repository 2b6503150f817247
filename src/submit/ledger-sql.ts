import { sql } from 'drizzle-orm';
import { arrayLiteral } from '../ingest/stage.ts';

/** SQL pieces shared by the outbox's claims, verdicts and maintenance. */

export type LedgerTable = 'conversions' | 'adjustments';

export const table = (t: LedgerTable) => sql.raw(t);

/** A timestamp column as Microsoft wants it: YYYY-MM-DDTHH:mm:ssZ. */
export const utc = (column: string) =>
  sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`);

export const uuidArray = (ids: readonly string[]) => sql`${arrayLiteral(ids)}::text::uuid[]`;
export const idArray = (ids: readonly number[]) => sql`${`{${ids.join(',')}}`}::text::bigint[]`;

/** The fence: only rows still claimed by this submission are touched. */
export const fenced = (submissionId: string) =>
  sql`submission_id = ${submissionId}::uuid and state = 'submitting'`;
