import { and, asc, eq, gt, inArray, isNotNull, lt, notLike, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import {
  adjustments,
  conversions,
  submissions,
  type Upload,
  type UploadRow,
  uploadRows,
  uploads,
} from '../db/schema/index.ts';
import { heldNote } from '../domain/held.ts';
import { formatUtc } from '../domain/utc.ts';
import { formatValue } from '../domain/values.ts';

export const resultColumns = [
  'Row',
  'Status',
  'Error Code',
  'Error Column',
  'Message',
  'Notes',
  'Conversion Name',
  'Microsoft Click Id',
  'Conversion Time (UTC)',
  'Value',
  'Currency',
  'Adjustment Type',
  'Adjustment Time (UTC)',
  'Ledger Id',
  'Accepted At (UTC)',
  'Tracking Id',
] as const;

/** Outcomes that mean "not sent": what ?errors=only and --errors-only keep. */
export const errorStatuses = ['rejected', 'duplicate', 'expired', 'failed'] as const;
const pageSize = 2000;

/** An upload row with the current state of the ledger row it became (if it became one). */
export interface ResultRow {
  row: UploadRow;
  ledgerId: number | null;
  ledgerState: string | null;
  /** Why the ledger row is in its state once it was sent (Microsoft's code and what to fix). */
  ledgerErrorCode?: string | null;
  ledgerMessage?: string | null;
  /** The ledger row's current hold (it moves when the goal is created at Microsoft, or on a 5615). */
  ledgerHeldUntil?: Date | null;
  acceptedAt?: Date | null;
  /** Microsoft's TrackingId of the last call that carried the row. */
  trackingId?: string | null;
}

/**
 * Uploads checked before the held note was written at read time stored it with the row's notes; it is
 * dropped, so that it does not outlive the hold.
 */
const storedHeldNote =
  /\s*held until \S+Z: Microsoft takes conversions 2 hours after the goal was created and 1 hour after the click; closeloop sends it then\.?/;
/** How that stored note starts; it came after the row's other notes. */
const storedHeldNoteStart = 'held until ';

/** What the row's check noted (a dropped fraction of a second, an ambiguous local time), or null. */
export function checkNotes(r: Pick<UploadRow, 'notes'>): string | null {
  return r.notes?.replace(storedHeldNote, '').trim() || null;
}

/** The row's notes: why and until when it is held (only while it is), then what its check noted. */
function notesOf(r: UploadRow, status: string, heldUntil: Date | null, errorCode: string | null) {
  const held =
    status === 'held' && heldUntil ? heldNote({ heldUntil, clickTime: r.clickTime, errorCode }) : null;
  return [held, checkNotes(r)].filter(Boolean).join(' ') || null;
}

/** One result row as the API, the CLI (--json) and the CSV show it. */
export function resultRecord({
  row: r,
  ledgerId,
  ledgerState,
  ledgerErrorCode,
  ledgerMessage,
  ledgerHeldUntil,
  acceptedAt,
  trackingId,
}: ResultRow) {
  // Once a row was sent, the ledger knows better: Microsoft's answer replaces the upload-time note.
  const sent = ledgerState === 'accepted' || (ledgerState !== null && (ledgerErrorCode ?? null) !== null);
  const status = ledgerState ?? r.status;
  const errorCode = sent ? (ledgerErrorCode ?? null) : r.errorCode;
  return {
    row: r.row,
    status,
    errorCode,
    errorColumn: sent ? null : r.errorColumn,
    message: sent ? (ledgerMessage ?? null) : r.message,
    notes: notesOf(r, status, ledgerState === null ? r.heldUntil : (ledgerHeldUntil ?? null), errorCode),
    conversionName: r.goalName,
    clickId: r.clickId,
    conversionTimeUtc: r.conversionTime ? formatUtc(r.conversionTime) : null,
    value: r.value === null ? null : formatValue(r.value),
    currency: r.currency,
    adjustmentType: r.adjustmentType,
    adjustmentTimeUtc: r.adjustmentTime ? formatUtc(r.adjustmentTime) : null,
    ledgerId,
    acceptedAtUtc: acceptedAt ? formatUtc(acceptedAt) : null,
    trackingId: trackingId ?? null,
  };
}

/**
 * One page of an upload's rows in row order (keyset on the row number), each joined to its ledger row so
 * its state is current. `statuses` filters on that current state.
 */
export async function resultPage(
  database: Database,
  upload: Pick<Upload, 'id' | 'kind'>,
  {
    after = -1,
    limit = pageSize,
    statuses,
    noted,
  }: {
    after?: number;
    limit?: number;
    statuses?: readonly string[];
    /** Only rows whose check noted something (a dropped fraction of a second, …): see `checkNotes`. */
    noted?: boolean;
  } = {},
): Promise<ResultRow[]> {
  // Both ledger tables have id, state, upload_id and upload_row, which is all this reads.
  const ledger = (upload.kind === 'conversions' ? conversions : adjustments) as typeof conversions;
  const state = sql<string>`coalesce(${ledger.state}, ${uploadRows.status})`;
  return database.db
    .select({
      row: uploadRows,
      ledgerId: ledger.id,
      ledgerState: ledger.state,
      ledgerErrorCode: ledger.errorCode,
      ledgerMessage: ledger.message,
      ledgerHeldUntil: ledger.heldUntil,
      acceptedAt: ledger.acceptedAt,
      trackingId: submissions.trackingId,
    })
    .from(uploadRows)
    .leftJoin(ledger, and(eq(ledger.uploadId, uploadRows.uploadId), eq(ledger.uploadRow, uploadRows.row)))
    .leftJoin(submissions, eq(submissions.id, ledger.submissionId))
    .where(
      and(
        eq(uploadRows.uploadId, upload.id),
        gt(uploadRows.row, after),
        statuses && statuses.length > 0 ? inArray(state, [...statuses]) : undefined,
        noted
          ? and(isNotNull(uploadRows.notes), notLike(uploadRows.notes, `${storedHeldNoteStart}%`))
          : undefined,
      ),
    )
    .orderBy(asc(uploadRows.row))
    .limit(limit);
}

/** Every row of an upload, a page at a time, so a 100,000-row result never sits in memory. */
export async function* uploadResultRows(
  database: Database,
  upload: Pick<Upload, 'id' | 'kind'>,
  options: { errorsOnly?: boolean; noted?: boolean } = {},
): AsyncGenerator<ResultRow> {
  // API batches number their items from 0, files their rows from 1.
  let after = -1;
  for (;;) {
    const page = await resultPage(database, upload, {
      after,
      ...(options.errorsOnly ? { statuses: errorStatuses } : {}),
      ...(options.noted ? { noted: true } : {}),
    });
    yield* page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.row.row;
  }
}

/** A CSV cell: quoted when needed, and defused when a spreadsheet would read it as a formula. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The download's file name: the upload's name without its extension, then -results.csv or -errors.csv. */
export function resultsFileName(upload: Pick<Upload, 'filename'>, errorsOnly: boolean): string {
  return `${upload.filename.replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_')}-${errorsOnly ? 'errors' : 'results'}.csv`;
}

export async function* resultsCsv(
  database: Database,
  upload: Pick<Upload, 'id' | 'kind'>,
  options: { errorsOnly?: boolean } = {},
): AsyncGenerator<string> {
  yield `${resultColumns.join(',')}\r\n`;
  let lines: string[] = [];
  for await (const r of uploadResultRows(database, upload, options)) {
    lines.push(Object.values(resultRecord(r)).map(csvCell).join(','));
    if (lines.length >= 500) {
      yield `${lines.join('\r\n')}\r\n`;
      lines = [];
    }
  }
  if (lines.length > 0) yield `${lines.join('\r\n')}\r\n`;
}

/** A preview that has not finished after this long was interrupted (a crash or a kill). */
export const stalePreviewMs = 60 * 60 * 1000;

/**
 * The retention job: delete uploads (and their rows) whose 180 days are over — ledger rows stay, they
 * are the history — and mark previews interrupted by a crash as failed, so they do not look busy forever.
 */
export async function maintainUploads(
  database: Database,
  now: Date,
): Promise<{ deleted: number; interrupted: number }> {
  const deleted = await database.db.transaction(async (tx) => {
    const gone = await tx.delete(uploads).where(lt(uploads.expiresAt, now)).returning({ id: uploads.id });
    const ids = gone.map((u) => u.id);
    if (ids.length > 0) await tx.delete(uploadRows).where(inArray(uploadRows.uploadId, ids));
    return gone;
  });
  const interrupted = await database.db
    .update(uploads)
    .set({
      status: 'failed',
      errorCode: 'INTERRUPTED',
      errorMessage:
        'The preview was interrupted (the process stopped) before it finished; upload the file again.',
    })
    .where(
      and(eq(uploads.status, 'previewing'), lt(uploads.createdAt, new Date(now.getTime() - stalePreviewMs))),
    )
    .returning({ id: uploads.id });
  return { deleted: deleted.length, interrupted: interrupted.length };
}
