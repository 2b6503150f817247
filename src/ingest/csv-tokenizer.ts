import type { RawRecord, RecordProblem } from './assembler.ts';
import { columnLetter } from './template.ts';

/**
 * The CSV tokenizer under the CSV template reader (read-csv.ts): decoded text in, raw records out.
 *
 * Why not csv-parse (the stack's CSV library): the template must survive hostile files row by row, and
 * csv-parse 7.0.3 cannot. With `skip_records_with_error` a bad record vanishes from the output, so the
 * rows after it cannot be numbered as a spreadsheet shows them; with `max_record_size` as well, every
 * record after the first too-long one is lost (tried: "a,b\n<20 x>,y\nc,d\ne,f\n" with a limit of 10
 * yields only ["a","b"]); an unclosed quote swallows the rest of the file with no way back; UTF-16 BE is
 * not decoded. This tokenizer is RFC 4180 plus what Excel writes, with those recoveries built in.
 */

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;

// Excel's limits: no row from a spreadsheet has more cells, and none of the template has anywhere near
// this many characters. Past them a record is garbage, and keeping it would let one line fill memory.
const maxCells = 16_384;
const maxRecordChars = 1 << 20;

// How much text is read before the delimiter must be decided, if the header line is that long.
const delimiterSniffChars = 64 * 1024;

const State = { fieldStart: 0, unquoted: 1, quoted: 2, quoteInQuoted: 3, afterClose: 4 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * A push tokenizer: text in, records out, state carried across chunks. Row numbers count every record,
 * blank lines included, as a spreadsheet program shows them; a quoted line break does not start a row.
 *
 * Recovery from a stray opening quote: while a quoted cell is read its raw text is kept (at most
 * maxCellLength characters, so memory stays bounded). If the quote turns out to be stray (the file ends
 * inside it, the "closing" quote is followed by text, or the cell outgrows any valid value) and the
 * cell spans lines, that text is read again as ordinary rows: only the row with the stray quote is lost.
 */
export class CsvTokenizer {
  private readonly maxCellLength: number;
  private delimiter = -1;
  private pending = '';
  private sniffFrom = 0;
  private state: State = State.fieldStart;
  private skipLf = false;
  private row = 0;
  private cells: string[] = [];
  private cellCount = 0;
  private recordChars = 0;
  private recordTooLong = false;
  private problems: RecordProblem[] | undefined;
  private field = '';
  private fieldLength = 0;
  private fieldQuoted = false;
  private quotedNewline = false;
  /** Spaces read after a closing quote, in case the quote turns out to be stray and is read again. */
  private closeSpaces = '';

  constructor(maxCellLength: number) {
    this.maxCellLength = maxCellLength;
  }

  write(text: string, out: RawRecord[]): void {
    if (this.delimiter === -1) {
      this.pending += text;
      // Look again only when a line may have ended, so tiny chunks do not make this quadratic.
      if (!/[\r\n]/.test(text) && this.pending.length < delimiterSniffChars) return;
      const delimiter = this.detectDelimiter(false);
      if (delimiter === undefined) return;
      this.delimiter = delimiter;
      text = this.pending;
      this.pending = '';
    }
    this.scan(text, out);
  }

  end(out: RawRecord[]): void {
    if (this.delimiter === -1) {
      this.delimiter = this.detectDelimiter(true) ?? COMMA;
      const text = this.pending;
      this.pending = '';
      this.scan(text, out);
    }
    // The file ended inside a quoted cell: its quote was never closed. Read what it swallowed as
    // ordinary rows. Each replay is shorter than the last, so this ends.
    while (this.state === State.quoted && this.fieldLength <= this.maxCellLength) {
      const replay = this.field;
      this.reopenAsUnquoted();
      this.scan(replay, out);
    }
    if (this.state === State.quoted) this.problem({ kind: 'malformed', message: unclosedQuote });
    if (this.state !== State.fieldStart || this.cellCount > 0) {
      this.endField();
      this.endRecord(out);
    }
  }

  /**
   * Picks the delimiter from the header line: the first non-blank line that is not the Parameters row.
   * Comma, semicolon (what Excel writes where the comma is the decimal separator) or tab (Excel's
   * "Unicode text"); the most frequent outside quotes wins, comma on a tie. Undefined until the header
   * line is complete, unless `final` or the text is already long enough to decide. Lines already known
   * to come before the header are not looked at again.
   */
  private detectDelimiter(final: boolean): number | undefined {
    const text = this.pending;
    let start = this.sniffFrom;
    while (start < text.length) {
      let end = start;
      while (end < text.length && text.charCodeAt(end) !== LF && text.charCodeAt(end) !== CR) end++;
      const complete = end < text.length;
      if (!complete && !final && text.length < delimiterSniffChars) break;
      const line = text.slice(start, Math.min(end, start + delimiterSniffChars));
      if (!/^[\s,;]*$/.test(line) && !/^\s*"?\s*parameters\s*:/i.test(line)) return countDelimiters(line);
      if (!complete) break;
      start = end + 1;
    }
    this.sniffFrom = start;
    return final || text.length >= delimiterSniffChars ? COMMA : undefined;
  }

  private scan(input: string, out: RawRecord[]): void {
    const delimiter = this.delimiter;
    // Replays of a stray quote's text are read before the rest of the current text: a stack of
    // (text, position) to resume, instead of copying the rest of the chunk for every replay.
    const resume: { text: string; at: number }[] = [];
    let text = input;
    let n = text.length;
    let i = 0;
    for (;;) {
      if (i >= n) {
        const next = resume.pop();
        if (!next) return;
        text = next.text;
        i = next.at;
        n = text.length;
        continue;
      }
      switch (this.state) {
        case State.fieldStart: {
          const c = text.charCodeAt(i);
          if (this.skipLf) {
            this.skipLf = false;
            if (c === LF) {
              i++;
              break;
            }
          }
          if (c === QUOTE) {
            this.state = State.quoted;
            this.fieldQuoted = true;
            i++;
          } else {
            this.state = State.unquoted;
          }
          break;
        }
        case State.unquoted: {
          let j = i;
          let c = 0;
          for (; j < n; j++) {
            c = text.charCodeAt(j);
            if (c === delimiter || c === LF || c === CR || c === QUOTE) break;
          }
          if (j > i) this.append(text, i, j);
          if (j === n) {
            i = n;
            break;
          }
          i = j + 1;
          if (c === delimiter) {
            this.endField();
            this.state = State.fieldStart;
          } else if (c === QUOTE) {
            if (this.fieldLength === this.field.length && this.field.trim() === '') {
              // ` "a, b"`: spaces before the opening quote, as hand-edited files have.
              this.field = '';
              this.fieldLength = 0;
              this.fieldQuoted = true;
              this.state = State.quoted;
            } else {
              this.problem({ kind: 'malformed', message: strayQuote(this.cellCount) });
              this.append('"', 0, 1);
            }
          } else {
            this.endField();
            this.endRecord(out);
            this.state = State.fieldStart;
            this.skipLf = c === CR;
          }
          break;
        }
        case State.quoted: {
          const j = text.indexOf('"', i);
          const end = j === -1 ? n : j;
          if (!this.quotedNewline) this.quotedNewline = hasNewline(text, i, end);
          if (
            this.quotedNewline &&
            this.fieldLength <= this.maxCellLength &&
            this.fieldLength + (end - i) > this.maxCellLength
          ) {
            // A multi-line cell longer than any valid value is far more likely an opening quote that is
            // never closed: read on from that quote as if it were an ordinary character.
            resume.push({ text, at: i });
            text = this.field;
            n = text.length;
            i = 0;
            this.reopenAsUnquoted();
            break;
          }
          if (end > i) this.append(text, i, end);
          if (j === -1) {
            i = n;
          } else {
            i = j + 1;
            this.state = State.quoteInQuoted;
          }
          break;
        }
        case State.quoteInQuoted: {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            // "" inside quotes is one quote; kept doubled until the cell ends so a replay sees raw text.
            this.append('""', 0, 2);
            this.state = State.quoted;
            i++;
          } else if (c === delimiter || c === LF || c === CR) {
            this.state = State.afterClose;
          } else if (c === SPACE || c === TAB) {
            this.state = State.afterClose;
            this.closeSpaces = text[i]!;
            i++;
          } else if (this.quotedNewline && this.fieldLength <= this.maxCellLength) {
            // `"Purchase` … `"x`: the quote that seemed to close the cell is followed by text and the cell
            // spans lines, so its opening quote was a stray one. Read on from it as ordinary text.
            resume.push({ text, at: i });
            text = `${this.field}"`;
            n = text.length;
            i = 0;
            this.reopenAsUnquoted();
          } else {
            this.problem({ kind: 'malformed', message: textAfterQuote(this.cellCount) });
            this.unescapeField();
            this.append('"', 0, 1);
            this.state = State.unquoted;
          }
          break;
        }
        case State.afterClose: {
          const c = text.charCodeAt(i);
          if (c === delimiter) {
            i++;
            this.endField();
            this.state = State.fieldStart;
          } else if (c === LF || c === CR) {
            i++;
            this.endField();
            this.endRecord(out);
            this.state = State.fieldStart;
            this.skipLf = c === CR;
          } else if (c === SPACE || c === TAB) {
            this.closeSpaces += text[i]!;
            i++;
          } else if (this.quotedNewline && this.fieldLength <= this.maxCellLength) {
            // As in quoteInQuoted: `"Purchase` … `" x` means the opening quote was a stray one.
            resume.push({ text, at: i });
            text = `${this.field}"${this.closeSpaces}`;
            n = text.length;
            i = 0;
            this.reopenAsUnquoted();
          } else {
            this.problem({ kind: 'malformed', message: textAfterQuote(this.cellCount) });
            this.unescapeField();
            this.state = State.unquoted;
          }
          if (this.state !== State.afterClose) this.closeSpaces = '';
          break;
        }
      }
    }
  }

  /** Keeps at most maxCellLength characters of a cell; counts the rest. */
  private append(text: string, from: number, to: number): void {
    const room = this.maxCellLength - this.field.length;
    const length = to - from;
    if (length <= room) {
      this.field += length === text.length ? text : text.slice(from, to);
    } else if (room > 0) {
      this.field += text.slice(from, from + room);
    }
    this.fieldLength += length;
  }

  /** Turns a quoted cell read so far back into plain text: `a""b` → `a"b`. */
  private unescapeField(): void {
    if (this.field.includes('"')) this.field = this.field.replaceAll('""', '"');
    this.fieldQuoted = false;
  }

  /** The opening quote of this cell was a stray one: the cell is now that quote, unquoted. */
  private reopenAsUnquoted(): void {
    this.problem({ kind: 'malformed', message: unclosedQuote });
    this.field = '"';
    this.fieldLength = 1;
    this.fieldQuoted = false;
    this.quotedNewline = false;
    this.state = State.unquoted;
  }

  private problem(problem: RecordProblem): void {
    if (!this.problems) this.problems = [];
    if (this.problems.length < 4) this.problems.push(problem);
  }

  private endField(): void {
    if (this.fieldQuoted) this.unescapeField();
    const column = this.cellCount++;
    if (this.fieldLength > this.maxCellLength) {
      this.problem({ kind: 'cellTooLarge', column, length: this.fieldLength });
    }
    if (!this.recordTooLong) {
      if (column < maxCells && this.recordChars + this.field.length <= maxRecordChars) {
        this.cells.push(this.field);
        this.recordChars += this.field.length;
      } else {
        this.recordTooLong = true;
        this.problem({ kind: 'malformed', message: rowTooLong });
      }
    }
    this.field = '';
    this.fieldLength = 0;
    this.fieldQuoted = false;
    this.quotedNewline = false;
  }

  private endRecord(out: RawRecord[]): void {
    this.row++;
    const record: RawRecord = { row: this.row, cells: this.cells };
    if (this.problems) record.problems = this.problems;
    out.push(record);
    this.cells = [];
    this.cellCount = 0;
    this.recordChars = 0;
    this.recordTooLong = false;
    this.problems = undefined;
  }
}

const unclosedQuote =
  'The row has a quote (") that opens a cell but is never closed, so the cell runs into the following lines. Close the quote or remove it.';
const rowTooLong = `The row has more than ${maxCells.toLocaleString('en-US')} cells or ${maxRecordChars.toLocaleString('en-US')} characters; it cannot be a row of the template.`;

function strayQuote(column: number): string {
  return `The row has a quote (") inside a cell that does not start with a quote (column ${columnLetter(column)}). Put the whole cell in double quotes and double the quote inside it ("5"" screen"), or remove the quote.`;
}

function textAfterQuote(column: number): string {
  return `The row has text right after the closing quote of a cell (column ${columnLetter(column)}). A quote inside a quoted cell must be doubled ("5"" screen").`;
}

function hasNewline(text: string, from: number, to: number): boolean {
  // A plain loop: indexOf would scan past `to` to the end of the chunk when there is no line break.
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === LF || c === CR) return true;
  }
  return false;
}

function countDelimiters(line: string): number {
  let comma = 0;
  let semicolon = 0;
  let tab = 0;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === QUOTE) quoted = !quoted;
    else if (quoted) continue;
    else if (c === COMMA) comma++;
    else if (c === SEMICOLON) semicolon++;
    else if (c === TAB) tab++;
  }
  if (semicolon > comma && semicolon >= tab) return SEMICOLON;
  if (tab > comma && tab > semicolon) return TAB;
  return COMMA;
}
