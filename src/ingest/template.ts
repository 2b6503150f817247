import type { RowField } from '../domain/conversion-rules.ts';
import type { RowErrorCode } from '../domain/row-errors.ts';

/**
 * Microsoft's offline-conversion import template, independent of the file format: which columns exist,
 * how a header cell is recognised, and the events a reader emits. The rules that turn a stream of
 * spreadsheet rows (from CSV or XLSX) into those events are in assembler.ts.
 */

export type TemplateKind = 'conversions' | 'adjustments';

/** A column closeloop reads: the fields of a row (src/domain/conversion-rules.ts), by the same names. */
export type CanonicalColumn = RowField;

/** The header text Microsoft's template uses for each column (reference/msads-api.md §9). */
export const columnTitles: Record<CanonicalColumn, string> = {
  clickId: 'Microsoft Click Id',
  conversionName: 'Conversion Name',
  conversionTime: 'Conversion Time',
  conversionValue: 'Conversion Value',
  conversionCurrency: 'Conversion Currency',
  adjustmentValue: 'Adjustment Value',
  adjustmentCurrency: 'Adjustment Currency',
  adjustmentType: 'Adjustment Type',
  adjustmentTime: 'Adjustment Time',
  hashedEmail: 'Hashed Email Address',
  hashedPhone: 'Hashed Phone Number',
  email: 'Email',
  phone: 'Phone',
  // Not in Microsoft's template: when the click time is known (the snippet's msclkid_time field, kept by
  // the CRM), closeloop checks the goal's conversion window and the 1-hour wait before sending.
  clickTime: 'Click Time',
};

/**
 * Columns every file of a kind must have. A row must also be attributable: the header needs a click ID
 * column or one of `identifierColumns` (enhanced conversions may replace the MSCLKID, msads-api.md §9).
 */
export const requiredColumns: Record<TemplateKind, CanonicalColumn[]> = {
  conversions: ['conversionName', 'conversionTime'],
  adjustments: ['conversionName', 'conversionTime', 'adjustmentType', 'adjustmentTime'],
};

/** Columns that can stand in for the click ID. */
export const identifierColumns: readonly CanonicalColumn[] = ['hashedEmail', 'hashedPhone', 'email', 'phone'];

/** The header line shown to users when theirs is wrong: Microsoft's template for each kind. */
export const templateColumns: Record<TemplateKind, CanonicalColumn[]> = {
  conversions: ['clickId', 'conversionName', 'conversionTime', 'conversionValue', 'conversionCurrency'],
  adjustments: [
    'clickId',
    'conversionName',
    'conversionTime',
    'adjustmentValue',
    'adjustmentCurrency',
    'adjustmentType',
    'adjustmentTime',
  ],
};

/**
 * The kind of file a header is: one with an Adjustment Type or Adjustment Time column is an adjustments
 * file (Microsoft's adjustments template is the conversions one plus those columns). Read as conversions,
 * such a file would look like the conversions it adjusts, and every row would be a duplicate.
 */
export function headerKind(columns: readonly (CanonicalColumn | null)[]): TemplateKind {
  return columns.includes('adjustmentType') || columns.includes('adjustmentTime')
    ? 'adjustments'
    : 'conversions';
}

export function templateHeaderLine(kind: TemplateKind): string {
  return templateColumns[kind].map((column) => columnTitles[column]).join(',');
}

// Spellings seen in the web-UI template, the bulk file ("… Currency Code") and hand-made sheets, after
// headerKey() has removed case, spaces, underscores, dashes and parenthesised notes.
const headerSpellings: Record<CanonicalColumn, string[]> = {
  clickId: [
    'microsoftclickid',
    'microsoftadvertisingclickid',
    'clickid',
    'msclkid',
    'msclickid',
    'bingclickid',
  ],
  conversionName: ['conversionname', 'conversiongoal', 'conversiongoalname', 'goalname'],
  conversionTime: ['conversiontime', 'conversiondatetime', 'conversiondateandtime'],
  conversionValue: ['conversionvalue', 'conversionrevenue'],
  conversionCurrency: ['conversioncurrency', 'conversioncurrencycode'],
  adjustmentValue: ['adjustmentvalue'],
  adjustmentCurrency: ['adjustmentcurrency', 'adjustmentcurrencycode'],
  adjustmentType: ['adjustmenttype'],
  adjustmentTime: ['adjustmenttime', 'adjustmentdatetime'],
  hashedEmail: ['hashedemailaddress', 'hashedemail'],
  hashedPhone: ['hashedphonenumber', 'hashedphone'],
  email: ['email', 'emailaddress'],
  phone: ['phone', 'phonenumber', 'telephone', 'telephonenumber'],
  clickTime: ['clicktime', 'msclkidtime', 'clickdatetime'],
};

const columnByKey = new Map<string, CanonicalColumn>();
for (const [column, keys] of Object.entries(headerSpellings) as [CanonicalColumn, string[]][]) {
  for (const key of keys) columnByKey.set(key, column);
}

function headerKey(cell: string): string {
  return cell
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\([^)]*\)/g, '')
    .replace(/[\s_\-.*:#'"]+/g, '');
}

/** The column a header cell names, tolerant of case, spacing, `_`/`-` and the usual click-ID spellings. */
export function matchHeader(cell: string): CanonicalColumn | undefined {
  return columnByKey.get(headerKey(cell));
}

/** Spreadsheet column letters: 0 → 'A', 25 → 'Z', 26 → 'AA'. */
export function columnLetter(index0: number): string {
  let letters = '';
  for (let n = index0 + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  }
  return letters;
}

export interface TemplateHeader {
  /** 1-based row number of the header row. */
  headerRow: number;
  /** What the file holds, as its header says (`headerKind`). */
  kind: TemplateKind;
  /** By column position; null = a column closeloop does not use. */
  columns: (CanonicalColumn | null)[];
  /** The header cells as written (trimmed). */
  names: string[];
  /** Reported to the user, not fatal. `column` is 1-based. */
  unknownColumns: { name: string; column: number }[];
  /** The raw `TimeZone=` value of the Parameters row (trimmed), if the file has one. */
  timeZone?: string;
}

export type TemplateEvent =
  | { type: 'header'; header: TemplateHeader }
  | { type: 'row'; row: number; cells: Partial<Record<CanonicalColumn, string>> }
  | { type: 'rowError'; row: number; code: RowErrorCode; message: string; column?: CanonicalColumn }
  | { type: 'fileError'; code: RowErrorCode; message: string };

export interface ReadOptions {
  /**
   * What the file must hold; a file of the other kind is refused (WRONG_FILE_KIND).
   * @default the kind its header says (`headerKind`)
   */
  kind?: TemplateKind;
  /**
   * Data rows allowed in one upload; one more refuses the whole file.
   * @default 100_000 (Microsoft's limit per upload, DESIGN.md)
   */
  maxRows?: number;
  /**
   * Longest cell kept; longer cells are a CELL_TOO_LARGE row error and are never held in memory whole.
   * @default 4096
   */
  maxCellLength?: number;
}

export const defaultMaxRows = 100_000;
export const defaultMaxCellLength = 4096;
