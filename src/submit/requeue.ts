import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { ts } from '../db/sql.ts';
import { idArray, type LedgerTable, table } from './ledger-sql.ts';

/**
 * Rows that releases before this one rejected because a whole call failed — an HTML 404 from a wrong
 * MSADS_API_BASE_URL, an unknown code, a cut-short answer: the batch was halved down to single rows and
 * each was rejected with this message, though nothing said the row was wrong.
 */
export const rejectedByCallMessage = 'Microsoft refused the request carrying this row:';

/**
 * Such rows are known by what is stored, two facts together: the row's message (written by that code
 * path only, since the first release), and its submission — the call that carried it, refused whole
 * (an error recorded on the call itself, which no per-item rejection has) with that row alone in it.
 */
function rejectedByCall(alias: string, uploadId: string | undefined): SQL {
  const a = sql.raw(alias);
  return sql`${a}.state = 'rejected' and starts_with(${a}.message, ${rejectedByCallMessage})
    and exists (select 1 from submissions s
                 where s.id = ${a}.submission_id and s.error_code is not null and s.items = 1)
    ${uploadId ? sql`and ${a}.upload_id = ${uploadId}::uuid` : sql``}`;
}

const queuedAgain = (now: Date) => sql`state = 'queued', attempts = 0, next_attempt_at = null,
  error_code = null, error_name = null, message = null, held_until = null, updated_at = ${ts(now)}`;

/**
 * Queue again the rows rejected by a whole-call failure (`closeloop retry --rejected-by-call`, POST
 * /api/v1/retries with rejectedByCall), with fresh attempts, and the adjustments that were rejected
 * only because their conversion was (ADJUSTMENT_CONVERSION_NOT_SENDABLE). Returns how many.
 */
export async function requeueRejectedByCall(
  database: Database,
  input: { now: Date; uploadId?: string },
): Promise<number> {
  let n = 0;
  const conversionIds: number[] = [];
  for (const t of ['conversions', 'adjustments'] as const satisfies LedgerTable[]) {
    const rows = await database.query<{ id: string | number }>(sql`
      update ${table(t)} r set ${queuedAgain(input.now)}
       where ${rejectedByCall('r', input.uploadId)}
      returning r.id`);
    n += rows.length;
    if (t === 'conversions') conversionIds.push(...rows.map((r) => Number(r.id)));
  }
  if (conversionIds.length > 0) {
    const orphans = await database.query(sql`
      update adjustments set ${queuedAgain(input.now)}
       where state = 'rejected' and error_code = 'ADJUSTMENT_CONVERSION_NOT_SENDABLE'
         and conversion_id = any(${idArray(conversionIds)})
      returning id`);
    n += orphans.length;
  }
  return n;
}
