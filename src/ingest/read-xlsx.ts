import { ReadStream, WriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import {
  columnLetter,
  defaultMaxCellLength,
  type RawRecord,
  type ReadOptions,
  type RecordProblem,
  TemplateAssembler,
  type TemplateEvent,
} from './template.ts';

/**
 * Streaming reader for the XLSX template (first visible worksheet), on exceljs's WorkbookReader so rows
 * are never all in memory. What exceljs keeps is the shared-strings table, which Excel's format puts
 * in one part for the whole workbook: memory grows with the number of distinct strings.
 *
 * Two exceljs 4.4 behaviours are worked around here:
 * - An inflate or zip error while a worksheet is being read is emitted on its internal unzip stream,
 *   which nobody awaits: the read hangs forever (seen with randomly mutated files). We listen on that
 *   stream ourselves and race every step against the failure.
 * - Excel writes the worksheets before sharedStrings.xml, so exceljs spools each worksheet to a
 *   temporary file (with the `tmp` package) and deletes it only when its iteration moves past that
 *   worksheet. When a read stops early or the file turns out broken, nobody does until the process
 *   exits (measured: 300 randomly damaged workbooks left 185 files in /tmp and 227 open descriptors).
 *   We note each spool file and the stream writing it, and close and delete them when the read ends.
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
  const pipe = source.pipe;
  const spools = new Spools();
  source.pipe = function pipeAndWatch<T extends NodeJS.WritableStream>(
    destination: T,
    opts?: { end?: boolean },
  ) {
    // The one destination is exceljs's unzip stream; its data are the zip's entries.
    destination.on('error', (error: unknown) => failure.fail(error));
    (destination as unknown as NodeJS.EventEmitter).on('data', (entry: unknown) => spools.watch(entry));
    return pipe.call(this, destination, opts) as T;
  };

  const reader = new ExcelJS.stream.xlsx.WorkbookReader(source, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    // Dates are numbers formatted as dates: the styles say which.
    styles: 'cache',
    // A hyperlink cell's value is its text; 'ignore' keeps it that way.
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  // exceljs takes the sheet list from xl/workbook.xml; when that part is missing or unreadable it threw
  // a TypeError after opening a spooled worksheet, leaving that file open. An empty list instead lets
  // it go on, and the worksheet found is read as the first one.
  let model: WorkbookInternals['model'] = { sheets: [] };
  Object.defineProperty(reader, 'model', {
    get: () => model,
    set: (value: WorkbookInternals['model']) => {
      model = value ?? { sheets: [] };
    },
  });
  const sheets = reader[Symbol.asyncIterator]();
  let chosen = false;
  try {
    for (;;) {
      const next = await step(sheets.next(), failure, (late) => {
        if (!late.done) skip(late.value as unknown as SheetReader);
      });
      if (next.done) break;
      const sheet = next.value as unknown as SheetReader;
      if (chosen || !isFirstSheet(reader, sheet)) {
        skip(sheet);
        continue;
      }
      chosen = true;
      const date1904 = (reader as unknown as WorkbookInternals).properties?.model?.date1904 === true;
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
            // Row numbers come from the file; keep them increasing even if a file lies.
            lastRow = Number.isInteger(row.number) && row.number > lastRow ? row.number : lastRow + 1;
            const event = assembler.push(toRecord(row, lastRow, maxCellLength, date1904));
            if (event) yield event;
            if (assembler.done) return;
          }
        }
      } finally {
        if (settled) await batches.return(undefined);
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

/** exceljs's WorksheetReader as it is at run time (its typings omit these members). */
interface SheetReader {
  id: number | string;
  name: string;
  iterator: unknown;
  parse(): AsyncGenerator<{ eventType: string; value: unknown }[]>;
}

interface WorkbookInternals {
  model?: { sheets?: { name: string; rId: string; state?: string }[] };
  workbookRels?: { Id: string; Target: string }[];
  properties?: { model?: { date1904?: boolean } };
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

/**
 * The first error of the workbook's streams. Only one step waits at a time, so one listener slot is
 * enough, and it is cleared after each step: racing every step against one long-lived promise would
 * keep every row ever read reachable from that promise's reaction list (measured: 2 KB per row).
 */
class Failure {
  error: { value: unknown } | undefined;
  listener: ((error: unknown) => void) | undefined;

  fail(error: unknown): void {
    if (this.error) return;
    this.error = { value: error };
    this.listener?.(error);
  }
}

/**
 * Waits for `promise` unless the workbook fails first. A value that arrives after the failure goes to
 * `late` (a worksheet exceljs opened meanwhile must still be closed); a late rejection is ignored.
 */
function step<T>(promise: Promise<T>, failure: Failure, late?: (value: T) => void): Promise<T> {
  const abandon = () => {
    promise.then(late, () => {});
  };
  if (failure.error) {
    abandon();
    return Promise.reject(failure.error.value);
  }
  return new Promise<T>((resolve, reject) => {
    failure.listener = (error) => {
      abandon();
      reject(error);
    };
    promise.then(
      (value) => {
        failure.listener = undefined;
        resolve(value);
      },
      (error: unknown) => {
        failure.listener = undefined;
        reject(error);
      },
    );
  });
}

interface TmpModule {
  file: (...args: unknown[]) => unknown;
}

/**
 * Cleanup callbacks of the spool files exceljs created and has not deleted yet, by path. The `tmp`
 * module exceljs uses is wrapped once per process (a module loaded twice shares this map).
 */
const pendingSpools: Map<string, () => void> = (() => {
  const key = Symbol.for('closeloop.ingest.xlsxSpools');
  const shared = globalThis as { [key]?: Map<string, () => void> };
  const existing = shared[key];
  if (existing) return existing;
  const pending = new Map<string, () => void>();
  shared[key] = pending;
  const requireFromExceljs = createRequire(createRequire(import.meta.url).resolve('exceljs'));
  const tmp = requireFromExceljs('tmp') as TmpModule;
  const file = tmp.file;
  tmp.file = function fileNoted(this: unknown, ...args: unknown[]) {
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (error: unknown, path: unknown, fd: unknown, cleanup: unknown) => {
        if (typeof path !== 'string' || typeof cleanup !== 'function')
          return callback(error, path, fd, cleanup);
        const once = () => {
          pending.delete(path);
          cleanup();
        };
        pending.set(path, once);
        return callback(error, path, fd, once);
      };
    }
    return file.apply(this, args);
  };
  return pending;
})();

/** The spool files of one read: the streams exceljs writes worksheets into, to be closed and deleted. */
class Spools {
  private readonly writers: WriteStream[] = [];
  private released = false;

  /** Notes where a worksheet entry of the zip is piped to (exceljs pipes it to a spool file). */
  watch(entry: unknown): void {
    const candidate = entry as {
      path?: unknown;
      pipe?: (destination: unknown, options?: unknown) => unknown;
    };
    // The test exceljs applies, unanchored as it is there.
    if (typeof candidate.path !== 'string' || !/xl\/worksheets\/sheet\d+[.]xml/.test(candidate.path)) return;
    const pipe = candidate.pipe;
    if (typeof pipe !== 'function') return;
    const spools = this;
    candidate.pipe = function pipeNoted(this: unknown, destination: unknown, options?: unknown) {
      const piped = pipe.call(this, destination, options);
      if (destination instanceof WriteStream) {
        // exceljs creates the spool file asynchronously: it may arrive after the read has ended.
        if (spools.released) Spools.close(destination);
        else spools.writers.push(destination);
      }
      return piped;
    };
  }

  release(): void {
    this.released = true;
    for (const writer of this.writers) Spools.close(writer);
    this.writers.length = 0;
  }

  private static close(writer: WriteStream): void {
    // A spool whose entry failed to inflate is never finished: its descriptor would stay open.
    if (!writer.writableFinished) writer.destroy();
    pendingSpools.get(String(writer.path))?.();
  }
}

function skip(sheet: SheetReader): void {
  // A spooled worksheet's temporary file is open for reading; close it. A worksheet still inside the
  // zip is drained by exceljs when we move on.
  if (sheet.iterator instanceof ReadStream) sheet.iterator.destroy();
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
