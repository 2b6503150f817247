/**
 * How much an XLSX upload may unpack to before it is refused as a whole (WORKBOOK_TOO_LARGE). A workbook
 * is a ZIP archive: deflate packs repetitive XML about 1,000 to 1, so a 7 MB upload can hold 5 GiB of
 * shared strings (issue 8: the service ran out of heap), a 2 MB one 2 GB of worksheet that exceljs
 * spools to temporary files, a 2.6 MB one millions of empty cells that took 188 s. Every limit below is
 * derived from the largest legitimate upload, `maxRows` rows of the template, so a real file never
 * meets one, and a hostile one is refused after no more work than the largest real file costs.
 *
 * Measured on a workbook of 100,000 rows with all 14 template columns filled with long values
 * (`npm run bench:readers -- xlsx-wide 100000`): xl/worksheets/sheet1.xml is 86.9 MB with inline
 * strings (869 bytes per row) and 54.9 MB with shared strings, whose part is 28.1 MB
 * (487,409 strings, about 200 characters of text per row); reading it takes 6.2 s. exceljs reads about
 * 350,000 empty cells or 600,000 empty rows a second, and 23 MB/s of XML it ignores.
 */
export interface XlsxLimits {
  /** Parts (files) in the archive. */
  entries: number;
  /** Inflated bytes of one worksheet. */
  sheetBytes: number;
  /** Inflated bytes of the shared strings (xl/sharedStrings.xml). */
  sharedStringsBytes: number;
  /** Inflated bytes of any other part (styles, workbook, relationships, themes, drawings…). */
  partBytes: number;
  /** Inflated bytes of all parts together. */
  totalBytes: number;
  /** Bytes exceljs writes to temporary files (worksheets that come before the shared strings). */
  spoolBytes: number;
  /** Strings in the shared-strings table. */
  sharedStrings: number;
  /** Characters of all shared strings together. */
  sharedStringChars: number;
  /** Cells of the worksheet read: each row counts its width, an empty row 1. */
  cells: number;
  /** Bytes of one piece of XML: a run of text (a cell's value), a tag, a comment or a CDATA section. */
  tokenBytes: number;
}

/** Room besides the data rows: the Parameters and header rows, blank rows between data rows. */
const spareRows = 1_000;
/** 1.8 times the 869 bytes per row measured with every template column filled (inline strings). */
const sheetBytesPerRow = 1_536;
/** The template has 14 columns (conversions and adjustments together); 6 more for the user's notes. */
const cellsPerRow = 20;
/** 2.7 times the 281 bytes per row measured. */
const sharedStringsBytesPerRow = 768;
/** At most one distinct text per column of the template, and some room. */
const sharedStringsPerRow = 16;
/**
 * The longest valid values of one row (click ID 32, goal name 100, two hashes 128, an e-mail address,
 * three times, currency) come to about 400 characters; 200 measured with every column filled.
 */
const sharedStringCharsPerRow = 512;
const MiB = 1024 * 1024;

/** The limits for a template of at most `maxRows` data rows (100,000: Microsoft's limit per upload). */
export function xlsxLimits(maxRows: number): XlsxLimits {
  const rows = maxRows + spareRows;
  const sheetBytes = rows * sheetBytesPerRow;
  const partBytes = 16 * MiB;
  return {
    // A workbook Excel writes has a dozen parts; one of 300 sheets, each with a drawing, about 1,000.
    // unzipper takes about half a millisecond per part.
    entries: 2_000,
    sheetBytes,
    sharedStringsBytes: rows * sharedStringsBytesPerRow,
    // Excel allows 64,000 cell formats: about 10 MB of styles.xml.
    partBytes,
    // The data sheet and its shared strings, with room for the small parts and other sheets.
    totalBytes: 2 * sheetBytes + partBytes,
    // One worksheet's worth: the data sheet, spooled when its strings come after it.
    spoolBytes: sheetBytes,
    sharedStrings: rows * sharedStringsPerRow,
    sharedStringChars: rows * sharedStringCharsPerRow,
    cells: rows * cellsPerRow,
    // Excel's cells hold at most 32,767 characters, 196,602 bytes when each is written as "&quot;".
    tokenBytes: 256 * 1024,
  };
}

/** A workbook that unpacks to more than any template needs: the whole upload is refused. */
export class WorkbookTooLarge extends Error {
  override name = 'WorkbookTooLarge';
  readonly code = 'WORKBOOK_TOO_LARGE';
}

const saveAsCsv =
  'It is damaged, or not a conversions template. Save the sheet with the conversions as CSV UTF-8 (or copy it into a new workbook) and upload that.';

const megabytes = (bytes: number) => `${Math.round(bytes / 1e6).toLocaleString('en-US')} MB`;
const count = (n: number) => n.toLocaleString('en-US');

/**
 * What one read of a workbook has used so far, against its limits. Each `add…` throws WorkbookTooLarge
 * past a limit; the caller sends that error to the read's Failure where it is not on the read's path.
 */
export class XlsxBudget {
  readonly limits: XlsxLimits;
  private readonly maxRows: number;
  private entries = 0;
  private total = 0;
  private spooled = 0;
  private strings = 0;
  private stringChars = 0;
  private cellCount = 0;

  constructor(maxRows: number, limits: XlsxLimits = xlsxLimits(maxRows)) {
    this.maxRows = maxRows;
    this.limits = limits;
  }

  /** The inflated-size limit of the part at `path`: worksheets and the shared strings carry the data. */
  partLimit(path: string): number {
    if (path === 'xl/sharedStrings.xml') return this.limits.sharedStringsBytes;
    return /^xl\/worksheets\/sheet\d+\.xml$/.test(path) ? this.limits.sheetBytes : this.limits.partBytes;
  }

  addEntry(path: string): void {
    if (++this.entries > this.limits.entries)
      throw new WorkbookTooLarge(
        `The workbook holds more than ${count(this.limits.entries)} parts (at ${clip(path)}), far more than a spreadsheet has. ${saveAsCsv}`,
      );
  }

  /** `bytes` more inflated bytes of the part at `path`, which has `partTotal` so far. */
  addBytes(path: string, bytes: number, partTotal: number): void {
    this.total += bytes;
    const limit = this.partLimit(path);
    if (partTotal > limit)
      throw new WorkbookTooLarge(
        `The workbook's part ${clip(path)} unpacks to more than ${megabytes(limit)}; a template of ${this.rows()} needs less. ${saveAsCsv}`,
      );
    if (this.total > this.limits.totalBytes)
      throw new WorkbookTooLarge(
        `The workbook unpacks to more than ${megabytes(this.limits.totalBytes)}; a template of ${this.rows()} needs less. ${saveAsCsv}`,
      );
  }

  addSpool(bytes: number): void {
    this.spooled += bytes;
    if (this.spooled > this.limits.spoolBytes)
      throw new WorkbookTooLarge(
        `The workbook's worksheets unpack to more than ${megabytes(this.limits.spoolBytes)}; a template of ${this.rows()} needs less. Keep only the sheet with the conversions. ${saveAsCsv}`,
      );
  }

  addSharedString(): void {
    if (++this.strings > this.limits.sharedStrings)
      throw new WorkbookTooLarge(
        `The workbook holds more than ${count(this.limits.sharedStrings)} different texts; a template of ${this.rows()} needs fewer. ${saveAsCsv}`,
      );
  }

  /** Characters of the shared strings, counted as they are read. */
  addSharedStringChars(chars: number): void {
    this.stringChars += chars;
    if (this.stringChars > this.limits.sharedStringChars)
      throw new WorkbookTooLarge(
        `The workbook's texts come to more than ${count(this.limits.sharedStringChars)} characters; a template of ${this.rows()} needs fewer. ${saveAsCsv}`,
      );
  }

  addCells(cells: number): void {
    this.cellCount += cells;
    if (this.cellCount > this.limits.cells)
      throw new WorkbookTooLarge(
        `The worksheet has more than ${count(this.limits.cells)} cells (counting empty rows and empty formatted cells); a template of ${this.rows()} needs fewer. Delete the empty rows and columns after the data, or save the sheet as CSV UTF-8 and upload that.`,
      );
  }

  tokenTooLong(path: string): WorkbookTooLarge {
    return new WorkbookTooLarge(
      `The workbook's part ${clip(path)} holds a value or tag longer than ${count(this.limits.tokenBytes)} bytes; an Excel cell holds at most 32,767 characters. ${saveAsCsv}`,
    );
  }

  private rows(): string {
    return `${count(this.maxRows)} rows`;
  }
}

function clip(path: string): string {
  return path.length > 80 ? `${path.slice(0, 80)}…` : path;
}
