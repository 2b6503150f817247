import type { Upload } from '../db/schema/index.ts';
import { plural } from '../domain/plural.ts';
import type { ServiceContext } from '../services/context.ts';

/** Rows listed under an import (errors, then notes); the rest are in `closeloop results`. */
const shownRows = 20;

/**
 * What `closeloop import` prints for a checked (and maybe applied) upload, shared by the commands that
 * import a file: with `json` one JSON object per row then a summary object on stdout; otherwise the rows
 * that were not accepted and the notes on stderr, then the counts and the upload id on stdout. Returns
 * the exit code: 1 when rows were rejected or expired, else 0.
 */
export async function printUploadReport({
  ctx,
  upload,
  label,
  json,
  preview,
  kindDetected,
  summary = {},
}: {
  ctx: ServiceContext;
  upload: Upload;
  /** The file's name in the messages. */
  label: string;
  json: boolean;
  preview: boolean;
  kindDetected: boolean;
  /** More fields for the JSON summary object. */
  summary?: Record<string, unknown>;
}): Promise<number> {
  const { checkNotes, resultRecord, uploadResultRows } = await import('../ingest/results.ts');
  let shown = 0;
  for await (const r of uploadResultRows(ctx.database, upload, { errorsOnly: !json })) {
    const rec = resultRecord(r);
    if (json)
      console.log(
        JSON.stringify({
          row: rec.row,
          status: rec.status,
          conversionTimeUtc: rec.conversionTimeUtc,
          errorCode: rec.errorCode,
          message: rec.message,
          ...(rec.notes ? { notes: rec.notes } : {}),
        }),
      );
    else if (shown++ < shownRows)
      console.error(`  ${rec.status.padEnd(9)} ${rec.errorCode ?? ''} ${rec.message ?? ''}`);
  }
  const counts = upload.counts;
  const bad = (counts.rejected ?? 0) + (counts.expired ?? 0);
  if (json) {
    console.log(
      JSON.stringify({
        summary: true,
        ...summary,
        uploadId: upload.id,
        kind: upload.kind,
        kindDetected,
        status: upload.status,
        totalRows: upload.totalRows,
        counts,
      }),
    );
    return bad > 0 ? 1 : 0;
  }
  if (shown > shownRows)
    console.error(`  … ${plural(shown - shownRows, 'more row')}; all rows: closeloop results ${upload.id}`);
  // Rows taken with a change worth knowing (a fraction of a second dropped, an ambiguous local time).
  let noted = 0;
  for await (const r of uploadResultRows(ctx.database, upload, { noted: true })) {
    if (noted++ < shownRows) console.error(`  note      Row ${r.row.row}: ${checkNotes(r.row)}`);
  }
  if (noted > shownRows)
    console.error(`  … ${plural(noted - shownRows, 'more note')}; all rows: closeloop results ${upload.id}`);
  if (kindDetected)
    console.log(
      `${label} is an adjustments file (its header has Adjustment Type / Adjustment Time columns): its rows were read as Restate / Retract adjustments.`,
    );
  const parts = Object.entries(counts).map(([k, v]) => `${v.toLocaleString('en-US')} ${k}`);
  const verb = preview ? 'Previewed (nothing applied)' : 'Imported';
  console.log(`${verb} ${plural(upload.totalRows, 'row')} from ${label}: ${parts.join(', ') || 'none'}.`);
  console.log(`Upload ${upload.id}${preview ? ` — apply it with: closeloop apply ${upload.id}` : ''}`);
  if (upload.unknownColumns.length > 0)
    console.log(
      `Ignored columns: ${upload.unknownColumns.map((u) => `"${u.name}" (column ${u.column})`).join(', ')}`,
    );
  return bad > 0 ? 1 : 0;
}
