import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { type RawRecord, type RecordProblem, TemplateAssembler } from './assembler.ts';
import {
  boundSharedStrings,
  closeSpooled,
  decodeAsOneStream,
  Failure,
  type SheetReader,
  Spools,
  skipSheet,
  step,
  tolerateMissingWorkbookXml,
  type WorkbookInternals,
  watchUnzip,
} from './exceljs-guards.ts';
import {
  columnLetter,
  defaultMaxCellLength,
  defaultMaxRows,
  type ReadOptions,
  type TemplateEvent,
} from './template.ts';
import { WorkbookTooLarge, XlsxBudget } from './xlsx-limits.ts';

/**
 * Streaming reader for the XLSX template (first visible worksheet), on exceljs's WorkbookReader so rows
 * are never all in memory. What is kept is the shared-strings table, which Excel's format puts in one
 * part for the whole workbook: memory grows with the number of distinct strings, up to the limits of
 * xlsx-limits.ts, like everything else a workbook unpacks to (past one: WORKBOOK_TOO_LARGE).
 *
 * exceljs 4.4.0 hangs on some damaged files and leaves temporary files behind on others: the
 * workarounds are in exceljs-guards.ts.
 */

/**
 * Reads an XLSX template. Everything wrong with the file is an event; errors thrown by `input` itself
 * (a dropped connection) are rethrown unchanged so the caller can retry.
 */
export async function* readXlsxTemplate(
  input: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  options: ReadOptions,
): AsyncGenerator<TemplateEvent> {
  const assembler = new TemplateAssembler(options);
  const maxCellLength = options.maxCellLength ?? defaultMaxCellLength;

  let inputError: { error: unknown } | undefined;
  const failure = new Failure();
  const source = Readable.from(
    bytes(input, (error) => {
      inputError = { error };
    }),
    { objectMode: false },
  );
  source.on('error', (error) => failure.fail(error));
  const budget = new XlsxBudget(options.maxRows ?? defaultMaxRows);
  const spools = new Spools(budget, failure);
  watchUnzip(source, failure, spools, budget);

  const reader = new ExcelJS.stream.xlsx.WorkbookReader(source, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    // Dates are numbers formatted as dates: the styles say which.
    styles: 'cache',
    // A hyperlink cell's value is its text; 'ignore' keeps it that way.
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  tolerateMissingWorkbookXml(reader);
  boundSharedStrings(reader, budget);
  const sheets = reader[Symbol.asyncIterator]();
  let chosen = false;
  try {
    for (;;) {
      const next = await step(sheets.next(), failure, (late) => {
        if (!late.done) skipSheet(late.value as unknown as SheetReader);
      });
      if (next.done) break;
      const sheet = next.value as unknown as SheetReader;
      if (chosen || !isFirstSheet(reader, sheet)) {
        skipSheet(sheet);
        continue;
      }
      chosen = true;
      const date1904 = (reader as unknown as WorkbookInternals).properties?.model?.date1904 === true;
      const spooled = decodeAsOneStream(sheet);
      // parse() hands over the rows of each chunk of XML at once: one await per chunk, not per row.
      const batches = sheet.parse();
      let lastRow = 0;
      // Not asked to return while a next() may still be pending: after a failure it never settles.
      let settled = true;
      try {
        for (;;) {
          settled = false;
          const batch = await step(batches.next(), failure);
          settled = true;
          if (batch.done) break;
          for (const { eventType, value } of batch.value) {
            if (eventType !== 'row') continue;
            const row = value as ExcelJS.Row;
            // exceljs has made the row's cells already; an empty row costs about as much as one cell.
            budget.addCells(Math.max(1, row.cellCount));
            // Row numbers come from the file; keep them increasing even if a file lies.
            lastRow = Number.isInteger(row.number) && row.number > lastRow ? row.number : lastRow + 1;
            const event = assembler.push(toRecord(row, lastRow, maxCellLength, date1904));
            if (event) yield event;
            if (assembler.done) return;
          }
        }
      } finally {
        if (settled) await batches.return(undefined);
        else closeSpooled(spooled);
      }
    }
    if (!chosen) {
      yield {
        type: 'fileError',
        code: 'UNREADABLE_FILE',
        message:
          'The file holds no worksheet: it was cut short (upload it again), or it is a ZIP archive of something other than an Excel workbook. Save it from your spreadsheet program as an Excel workbook (.xlsx) or as CSV UTF-8.',
      };
      return;
    }
    const last = assembler.end();
    if (last) yield last;
  } catch (error) {
    if (inputError) throw inputError.error;
    const tooLarge = [error, failure.error?.value].find((cause) => cause instanceof WorkbookTooLarge);
    if (tooLarge) {
      yield {
        type: 'fileError',
        code: 'WORKBOOK_TOO_LARGE',
        message: (tooLarge as WorkbookTooLarge).message,
      };
      return;
    }
    yield {
      type: 'fileError',
      code: 'UNREADABLE_FILE',
      message: `The file cannot be read as an Excel workbook (${describe(error)}). Open it in Excel and save it again as .xlsx, or save it as CSV UTF-8.`,
    };
  } finally {
    source.destroy();
    spools.release();
  }
}

async function* bytes(
  input: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  onError: (error: unknown) => void,
): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of input as AsyncIterable<Uint8Array | string>) {
      yield typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  } catch (error) {
    onError(error);
    throw error;
  }
}

/** The first visible worksheet in the workbook's tab order (not the order of parts in the zip). */
function isFirstSheet(reader: unknown, sheet: SheetReader): boolean {
  const { model, workbookRels } = reader as WorkbookInternals;
  if (!model?.sheets || !workbookRels) return true;
  for (const candidate of model.sheets) {
    if (candidate.state === 'hidden' || candidate.state === 'veryHidden') continue;
    const target = workbookRels.find((rel) => rel.Id === candidate.rId)?.Target ?? '';
    const number = /worksheets\/sheet(\d+)\.xml$/.exec(target)?.[1];
    if (number === undefined) continue;
    // exceljs names the sheet from the workbook when it can match the relationship, else "Sheet<n>".
    return sheet.name === candidate.name || (String(sheet.id) === number && sheet.name === `Sheet${number}`);
  }
  return true;
}

// Excel's grid is 16,384 columns wide; a cell reference past it is garbage.
const maxColumns = 16_384;

function toRecord(row: ExcelJS.Row, rowNumber: number, maxCellLength: number, date1904: boolean): RawRecord {
  const cells: string[] = [];
  let problems: RecordProblem[] | undefined;
  row.eachCell((cell, column) => {
    if (column > maxColumns) return;
    const index = column - 1;
    const value = cellText(cell, date1904);
    if (typeof value !== 'string') {
      problems ??= [];
      problems.push({
        kind: 'cellError',
        column: index,
        message: `Cell ${columnLetter(index)}${rowNumber} ${value.error}`,
      });
      cells[index] = '';
      return;
    }
    if (value.length > maxCellLength) {
      problems ??= [];
      problems.push({ kind: 'cellTooLarge', column: index, length: value.length });
      cells[index] = value.slice(0, maxCellLength);
      return;
    }
    cells[index] = value;
  });
  for (let i = 0; i < cells.length; i++) if (cells[i] === undefined) cells[i] = '';
  const record: RawRecord = { row: rowNumber, cells };
  if (problems) record.problems = problems;
  return record;
}

type CellText = string | { error: string };

const noResult =
  'holds a formula without a saved result (the file was not saved by a spreadsheet program). Open it in Excel and save it again, or replace the formula with its value.';

function cellText(cell: ExcelJS.Cell, date1904: boolean): CellText {
  const value: unknown = cell.value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return dateText(value);
  if (typeof value !== 'object') return String(value);
  const object = value as Record<string, unknown>;
  if ('formula' in object || 'sharedFormula' in object || 'result' in object) {
    // cell.result keeps a result of 0 that cell.value drops.
    const result: unknown = cell.type === ExcelJS.ValueType.Formula ? cell.result : object.result;
    if (result === undefined || result === null) return { error: noResult };
    // exceljs reads an error result (#N/A) as a number and gets NaN.
    if (typeof result === 'number' && !Number.isFinite(result)) {
      return {
        error:
          'holds a formula whose result is an error (such as #N/A or #VALUE!). Fix the formula or type the value.',
      };
    }
    if (typeof result === 'number' && isDateFormat(cell.numFmt))
      return dateText(serialToDate(result, date1904));
    return resultText(result);
  }
  return resultText(object);
}

function resultText(value: unknown): CellText {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return dateText(value);
  if (value === null || typeof value !== 'object') return '';
  const object = value as Record<string, unknown>;
  if (typeof object.error === 'string') {
    return { error: `shows the error ${object.error}. Fix the formula or type the value.` };
  }
  if (Array.isArray(object.richText)) {
    return object.richText
      .map((run: { text?: unknown }) => (typeof run.text === 'string' ? run.text : ''))
      .join('');
  }
  if ('text' in object) return resultText(object.text);
  return '';
}

function numberText(value: number): CellText {
  if (!Number.isFinite(value)) return { error: 'holds a number Excel cannot store. Type the value again.' };
  return formatNumber(value);
}

/**
 * A number as its shortest plain decimal, without exponent and without binary float noise:
 * 0.1+0.2 → "0.3". Fractions are rounded to 12 significant digits, or more when the integer part needs
 * them so that three decimals always survive (values go up to 999,999,999,999.999, DESIGN.md); never
 * past 15, all Excel stores. Integers are kept exactly: a phone number must not lose digits.
 */
export function formatNumber(value: number): string {
  if (Number.isInteger(value)) {
    if (value === 0) return '0';
    return Math.abs(value) < 1e21 ? String(value) : BigInt(value).toString();
  }
  const magnitude = Math.abs(value);
  const integerDigits = magnitude >= 1 ? Math.floor(Math.log10(magnitude)) + 1 : 0;
  const rounded = Number(value.toPrecision(Math.min(15, Math.max(12, integerDigits + 3))));
  const text = String(rounded);
  const e = text.indexOf('e');
  if (e === -1) return text;
  // Only tiny fractions reach here (|value| < 1e-6): 1.5e-7 → 0.00000015.
  const exponent = Number(text.slice(e + 1));
  const digits = text.slice(0, e).replace('-', '').replace('.', '');
  const sign = rounded < 0 ? '-' : '';
  return exponent < 0
    ? `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`
    : `${sign}${digits}${'0'.repeat(exponent)}`;
}

/**
 * exceljs turns date-formatted numbers into Dates whose UTC fields hold the wall-clock time as typed;
 * the time zone comes from the Parameters row or the cell's own text, so none is written here.
 */
export function dateText(date: Date): CellText {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) return { error: 'holds a date Excel cannot show. Type the date and time again.' };
  // Serial day fractions land a millisecond off whole seconds (13:00:00 read as 12:59:59.999).
  const d = new Date(Math.round(ms / 1000) * 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** Excel's serial day number (days since 1899-12-30, or 1904-01-01) as a wall-clock Date in UTC fields. */
function serialToDate(serial: number, date1904: boolean): Date {
  return new Date(Math.round((serial - 25569 + (date1904 ? 1462 : 0)) * 86_400_000));
}

/** The rule exceljs applies to plain cells, applied to formula results as well. */
function isDateFormat(format: unknown): boolean {
  if (typeof format !== 'string' || format === '') return false;
  return /[ymdhMsb]/.test(format.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, ''));
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // unzipper's word for a file that stops in the middle of a part.
  if (message === 'FILE_ENDED') return 'it ends too early, as if cut short; upload it again';
  return message.length > 120 ? `${message.slice(0, 120)}…` : message;
}
