import type { RowErrorCode } from '../domain/row-errors.ts';
import {
  type CanonicalColumn,
  columnLetter,
  columnTitles,
  defaultMaxCellLength,
  defaultMaxRows,
  headerKind,
  identifierColumns,
  matchHeader,
  type ReadOptions,
  requiredColumns,
  type TemplateEvent,
  type TemplateHeader,
  type TemplateKind,
  templateHeaderLine,
} from './template.ts';

/**
 * The rules that turn a stream of spreadsheet rows (from CSV or XLSX) into one header event followed by
 * one event per data row, on the template that template.ts describes.
 */

/** Something wrong with one record, found by the format reader; worded by the assembler. */
export type RecordProblem =
  | { kind: 'malformed'; message: string }
  | { kind: 'cellTooLarge'; column: number; length: number }
  | { kind: 'cellError'; column: number; message: string };

/** One spreadsheet row as a format reader sees it: its row number and its raw cells by position. */
export interface RawRecord {
  row: number;
  cells: readonly string[];
  /** The first problem is the one reported: one event per row. */
  problems?: RecordProblem[];
}

const saveAsUtf8 =
  'The row contains unreadable characters (NUL bytes or text that is not UTF-8). Save the file as "CSV UTF-8" or as an Excel workbook (.xlsx) and upload it again.';

// NUL, other C0 controls except tab/newlines, and U+FFFD (what invalid UTF-8 decodes to).
const unreadable = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffd]/;

/** Excel's sheets have 1,048,576 rows: a file from a spreadsheet has no more empty ones than that. */
const maxBlankRows = 1_048_576;

const plural = (n: number, one: string, many: string) =>
  `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/**
 * Turns raw records into template events: finds the Parameters and header rows, checks the header,
 * maps cells to columns, and enforces the row limit. Shared by the CSV and XLSX readers so both
 * formats behave identically. Push records in order; once `done`, push nothing more.
 */
export class TemplateAssembler {
  done = false;
  /** The kind asked for, if any; once the header is read, the file's kind. */
  private kind: TemplateKind | undefined;
  private readonly maxRows: number;
  private readonly maxCellLength: number;
  private header: TemplateHeader | undefined;
  private timeZone: string | undefined;
  private sawParameters = false;
  private parametersRow = 0;
  private dataRows = 0;
  private blankRows = 0;

  constructor(options: ReadOptions) {
    this.kind = options.kind;
    this.maxRows = options.maxRows ?? defaultMaxRows;
    this.maxCellLength = options.maxCellLength ?? defaultMaxCellLength;
  }

  push(record: RawRecord): TemplateEvent | undefined {
    if (this.done) return undefined;
    if (isBlank(record)) {
      // Blank rows cost a little each but count toward no limit: 64 MiB of line breaks took 44 s.
      if (++this.blankRows > maxBlankRows) {
        return this.stop(
          fileError(
            'TOO_MANY_ROWS',
            `The file has more than ${maxBlankRows.toLocaleString('en-US')} empty rows, more than a spreadsheet has; delete the empty rows (in a CSV file, the empty lines) and upload it again.`,
          ),
        );
      }
      return undefined;
    }
    if (this.header) return this.dataRow(record);
    if (!this.sawParameters && /^\s*parameters\s*:/i.test(record.cells[0] ?? '')) {
      this.sawParameters = true;
      this.parametersRow = record.row;
      return this.parameters(record);
    }
    return this.headerRow(record);
  }

  end(): TemplateEvent | undefined {
    if (this.done) return undefined;
    this.done = true;
    if (!this.header) {
      return fileError(
        'EMPTY_FILE',
        this.sawParameters
          ? `The file has a Parameters row (row ${this.parametersRow}) but no header row and no data rows. The next row must be the header: ${templateHeaderLine(this.kind ?? 'conversions')}`
          : `The file is empty. It needs a header row (${templateHeaderLine(this.kind ?? 'conversions')}) followed by one row per ${this.noun()}.`,
      );
    }
    if (this.dataRows === 0) {
      return fileError(
        'EMPTY_FILE',
        `The file has a header row (row ${this.header.headerRow}) but no data rows. Add one row per ${this.noun()} below the header.`,
      );
    }
    return undefined;
  }

  private noun() {
    return this.kind === 'adjustments' ? 'adjustment' : 'conversion';
  }

  private stop(event: TemplateEvent): TemplateEvent {
    this.done = true;
    return event;
  }

  private parameters(record: RawRecord): TemplateEvent | undefined {
    // Everything after "Parameters:"; a second parameter may sit in the next cell (a comma split it) or
    // after a semicolon in the same cell.
    const first = (record.cells[0] ?? '').replace(/^\s*parameters\s*:/i, '');
    const pieces = [first, ...record.cells.slice(1)]
      .flatMap((cell) => cell.split(';'))
      .map((piece) => piece.trim())
      .filter((piece) => piece !== '');
    const unknown: string[] = [];
    for (const piece of pieces) {
      const eq = piece.indexOf('=');
      const name = (eq === -1 ? piece : piece.slice(0, eq)).trim();
      const value = eq === -1 ? '' : piece.slice(eq + 1).trim();
      if (name.toLowerCase().replace(/[\s_-]+/g, '') !== 'timezone') {
        unknown.push(name);
        continue;
      }
      if (value === '') {
        return this.stop(
          fileError(
            'INVALID_PARAMETERS_ROW',
            `The Parameters row (row ${record.row}) has "TimeZone" without a value. Write it like Parameters:TimeZone=-0500 or Parameters:TimeZone=EasternTimeUSCanada, or delete the row to use UTC.`,
          ),
        );
      }
      if (this.timeZone !== undefined && this.timeZone !== value) {
        return this.stop(
          fileError(
            'INVALID_PARAMETERS_ROW',
            `The Parameters row (row ${record.row}) gives two time zones ("${this.timeZone}" and "${value}"). Keep one.`,
          ),
        );
      }
      this.timeZone = value;
    }
    if (unknown.length > 0) {
      const names = unknown.map((name) => `"${clip(name, 50)}"`).join(', ');
      return this.stop(
        fileError(
          'INVALID_PARAMETERS_ROW',
          `The Parameters row (row ${record.row}) has ${unknown.length === 1 ? 'a parameter' : 'parameters'} closeloop does not know: ${names}. The only parameter is TimeZone, e.g. Parameters:TimeZone=-0500.`,
        ),
      );
    }
    return undefined;
  }

  private headerRow(record: RawRecord): TemplateEvent {
    const names = record.cells.map((cell) => cell.trim());
    if (names.some((name) => unreadable.test(name))) {
      return this.stop(
        fileError(
          'UNREADABLE_FILE',
          `The header row (row ${record.row}) contains unreadable characters, so this is not a CSV text file in UTF-8. Save the file as "CSV UTF-8" or as an Excel workbook (.xlsx) and upload it again.`,
        ),
      );
    }
    const columns = names.map((name) => matchHeader(name) ?? null);
    const unknownColumns: TemplateHeader['unknownColumns'] = [];
    const firstAt = new Map<CanonicalColumn, number>();
    for (const [i, column] of columns.entries()) {
      const name = names[i] ?? '';
      if (column === null) {
        if (name !== '') unknownColumns.push({ name, column: i + 1 });
        continue;
      }
      const earlier = firstAt.get(column);
      if (earlier !== undefined) {
        return this.stop(
          fileError(
            'DUPLICATE_COLUMN',
            `Columns ${columnLetter(earlier)} ("${names[earlier]}") and ${columnLetter(i)} ("${name}") of the header row (row ${record.row}) both name the ${columnTitles[column]} column. Remove or rename one of them.`,
          ),
        );
      }
      firstAt.set(column, i);
    }
    const kind = headerKind(columns);
    if (this.kind !== undefined && this.kind !== kind)
      return this.stop(wrongKind(record.row, this.kind, kind, names, columns));
    this.kind = kind;
    const missing = requiredColumns[kind].filter((column) => !firstAt.has(column));
    const hasIdentifier = firstAt.has('clickId') || identifierColumns.some((column) => firstAt.has(column));
    if (missing.length > 0 || !hasIdentifier) {
      return this.stop(this.missingColumns(record.row, names, columns, missing, hasIdentifier));
    }
    const header: TemplateHeader = { headerRow: record.row, kind, columns, names, unknownColumns };
    if (this.timeZone !== undefined) header.timeZone = this.timeZone;
    this.header = header;
    return { type: 'header', header };
  }

  private missingColumns(
    row: number,
    names: string[],
    columns: (CanonicalColumn | null)[],
    missing: CanonicalColumn[],
    hasIdentifier: boolean,
  ): TemplateEvent {
    const wanted = missing.map((column) => columnTitles[column]);
    if (!hasIdentifier) {
      wanted.unshift(
        `${columnTitles.clickId} (or, for enhanced conversions, ${identifierColumns.map((c) => columnTitles[c]).join(' / ')})`,
      );
    }
    const found = names.filter((name) => name !== '').map((name) => `"${clip(name, 60)}"`);
    const lines = [
      `The header row (row ${row}) has no ${wanted.join(', no ')} column.`,
      found.length > 0
        ? `Columns found: ${found.slice(0, 20).join(', ')}${found.length > 20 ? ', …' : ''}.`
        : '',
      columns.every((column) => column === null)
        ? 'None of its cells is a column name closeloop knows: the first row (after an optional Parameters:TimeZone=… row) must be the header row.'
        : '',
      `${this.kind === 'adjustments' ? 'An adjustments' : 'A conversions'} file starts with this header: ${templateHeaderLine(this.kind ?? 'conversions')}`,
    ];
    return fileError('MISSING_REQUIRED_COLUMN', lines.filter((line) => line !== '').join(' '));
  }

  private dataRow(record: RawRecord): TemplateEvent {
    const header = this.header!;
    this.dataRows++;
    if (this.dataRows > this.maxRows) {
      return this.stop(
        fileError(
          'TOO_MANY_ROWS',
          `The file has more than ${this.maxRows.toLocaleString('en-US')} rows; split it into several uploads of at most ${this.maxRows.toLocaleString('en-US')} rows each.`,
        ),
      );
    }
    const { row } = record;
    for (const problem of record.problems ?? []) {
      if (problem.kind === 'malformed')
        return { type: 'rowError', row, code: 'MALFORMED_ROW', message: problem.message };
      const column = header.columns[problem.column];
      // A problem in a column closeloop ignores does not make the row unusable.
      if (problem.kind === 'cellError' && column) {
        return { type: 'rowError', row, code: 'MALFORMED_ROW', message: problem.message, column };
      }
      if (problem.kind === 'cellTooLarge' && column) {
        return {
          type: 'rowError',
          row,
          code: 'CELL_TOO_LARGE',
          column,
          message: `The ${header.names[problem.column]} cell (column ${columnLetter(problem.column)}) has ${plural(problem.length, 'character', 'characters')}; no valid value is longer than ${this.maxCellLength.toLocaleString('en-US')}. In a CSV file, look for a quote that is opened but never closed.`,
        };
      }
    }
    const cells: Partial<Record<CanonicalColumn, string>> = {};
    const width = header.columns.length;
    for (let i = 0; i < record.cells.length; i++) {
      const value = record.cells[i]!.trim();
      if (value === '') continue;
      if (unreadable.test(value))
        return { type: 'rowError', row, code: 'MALFORMED_ROW', message: saveAsUtf8 };
      if (i >= width) {
        return {
          type: 'rowError',
          row,
          code: 'MALFORMED_ROW',
          message: `The row has a value in column ${columnLetter(i)} ("${clip(value, 40)}") but the header row has only ${plural(width, 'column', 'columns')}. Remove the extra cells, or check for a separator or quote inside a cell that is not quoted.`,
        };
      }
      const column = header.columns[i];
      if (column) cells[column] = value;
    }
    return { type: 'row', row, cells };
  }
}

/** A file of the other kind than the one asked for: say which it is, and how to import it. */
function wrongKind(
  row: number,
  asked: TemplateKind,
  found: TemplateKind,
  names: string[],
  columns: (CanonicalColumn | null)[],
): TemplateEvent {
  if (found === 'adjustments') {
    const which = names.filter((_, i) => columns[i] === 'adjustmentType' || columns[i] === 'adjustmentTime');
    return fileError(
      'WRONG_FILE_KIND',
      `This is an adjustments file: its header row (row ${row}) has ${which.map((n) => `"${n}"`).join(' and ')}, but it was imported as conversions. Import it as adjustments (closeloop import --adjustments, or kind=adjustments), or leave the kind out and closeloop reads the header.`,
    );
  }
  return fileError(
    'WRONG_FILE_KIND',
    `This is a conversions file: its header row (row ${row}) has no Adjustment Type and no Adjustment Time column, but it was imported as ${asked}. Import it as conversions (without --adjustments, or kind=conversions); an adjustments file starts with this header: ${templateHeaderLine('adjustments')}`,
  );
}

function isBlank(record: RawRecord): boolean {
  if (record.problems && record.problems.length > 0) return false;
  for (const cell of record.cells) if (cell.trim() !== '') return false;
  return true;
}

function fileError(code: RowErrorCode, message: string): TemplateEvent {
  return { type: 'fileError', code, message };
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
