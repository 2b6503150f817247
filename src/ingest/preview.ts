import type { Upload } from '../db/schema/index.ts';
import { checkRow, type GoalFacts, type RowField } from '../domain/conversion-rules.ts';
import { goalDirectory } from '../domain/goal-names.ts';
import { parseConversionTime } from '../domain/time.ts';
import { parseTimeZoneSpec, type TimeZoneSpec } from '../domain/timezones.ts';
import { AppError } from '../errors.ts';
import type { ServiceContext } from '../services/context.ts';
import { listGoals } from '../services/goals.ts';
import { readTemplate } from './read-file.ts';
import { checkedToRow, createUpload, failUpload, finishPreview, rowWriter, setUploadKind } from './stage.ts';
import { columnLetter, columnTitles, type TemplateHeader, type TemplateKind } from './template.ts';

export interface PreviewOptions {
  ctx: ServiceContext;
  input: NodeJS.ReadableStream | AsyncIterable<Uint8Array | string>;
  filename: string;
  /**
   * What the file must hold; a file of the other kind is refused (WRONG_FILE_KIND).
   * @default what its header says: adjustments with an Adjustment Type or Adjustment Time column
   */
  kind?: TemplateKind;
  /** Called every 5,000 rows and at the end with the number of data rows read. */
  onProgress?: (rowsRead: number) => void;
  /** Rows allowed in one upload. @default 100_000 (Microsoft's limit; tests lower it) */
  maxRows?: number;
}

/**
 * Read, check and store every row of a file with its outcome, without applying anything. The file is
 * streamed: rows go to the database in chunks, and duplicates are found by set-based SQL afterwards.
 */
export async function previewUpload({
  ctx,
  input,
  filename,
  kind,
  onProgress,
  maxRows,
}: PreviewOptions): Promise<Upload> {
  const now = ctx.now();
  const goals = goalDirectory<GoalFacts>(await listGoals({ ctx }));
  // Until the header is read, an upload without a kind is taken for conversions.
  let upload = await createUpload(ctx, { kind: kind ?? 'conversions', filename, source: 'file' });
  const writer = rowWriter(ctx, upload.id);
  let header: TemplateHeader | undefined;
  let zone: TimeZoneSpec | undefined;
  let rowsRead = 0;
  const label = (field: RowField): string => {
    const i = header ? header.columns.indexOf(field as never) : -1;
    return i >= 0
      ? `column ${columnLetter(i)} "${header!.names[i]}"`
      : `column "${columnTitles[field as keyof typeof columnTitles] ?? field}"`;
  };
  const headerFields = () => ({
    timeZone: header?.timeZone ?? null,
    unknownColumns: header?.unknownColumns ?? [],
  });

  let inputFailed = false;
  const watched = noteFailure(input, () => {
    inputFailed = true;
  });
  try {
    const options = { filename, ...(kind ? { kind } : {}), ...(maxRows ? { maxRows } : {}) };
    for await (const event of readTemplate(watched, options)) {
      if (event.type === 'header') {
        header = event.header;
        upload = await setUploadKind(ctx, upload, header.kind);
        if (header.timeZone !== undefined) {
          const z = parseTimeZoneSpec(header.timeZone);
          if (!z.ok) {
            await writer.discard();
            return failUpload(
              ctx,
              upload,
              { code: 'INVALID_PARAMETERS_ROW', message: `Parameters row: ${z.message}` },
              headerFields(),
            );
          }
          zone = z.value;
        }
        continue;
      }
      if (event.type === 'fileError') {
        onProgress?.(rowsRead);
        await writer.discard();
        return failUpload(ctx, upload, event, headerFields());
      }
      rowsRead++;
      if (event.type === 'rowError') {
        await writer.add({
          uploadId: upload.id,
          row: event.row,
          status: 'rejected',
          errorCode: event.code,
          errorColumn: event.column ? columnTitles[event.column] : null,
          // The readers' messages name the column themselves where one is at fault.
          message: `Row ${event.row}: ${event.message}`,
        });
      } else {
        const checked = checkRow(event.cells, {
          kind: upload.kind,
          now,
          parseTime: (text) => parseConversionTime(text, zone),
          goal: goals.find,
          similarGoal: goals.similar,
          where: `Row ${event.row}`,
          fieldLabel: label,
        });
        await writer.add(checkedToRow(upload.id, event.row, checked));
      }
      if (onProgress && rowsRead % 5000 === 0) onProgress(rowsRead);
    }
  } catch (err) {
    // Failed now, not left 'previewing' until the retention job calls it interrupted an hour later.
    await writer.discard();
    const message = inputFailed
      ? `The file did not arrive whole: ${err instanceof AppError ? err.message : `${(err as Error).message}. Upload it again.`}`
      : 'The preview stopped on an error on our side; upload the file again.';
    await failUpload(ctx, upload, { code: 'INTERRUPTED', message }, headerFields()).catch(() => {});
    throw err;
  }
  await writer.flush();
  onProgress?.(rowsRead);
  return finishPreview(ctx, upload, { totalRows: rowsRead, ...headerFields() });
}

/** `input`, calling `onFailure` if reading it throws (the upload's connection, not closeloop, failed). */
async function* noteFailure(
  input: NodeJS.ReadableStream | AsyncIterable<Uint8Array | string>,
  onFailure: () => void,
): AsyncGenerator<Uint8Array | string> {
  try {
    yield* input as AsyncIterable<Uint8Array | string>;
  } catch (err) {
    onFailure();
    throw err;
  }
}
