import { createRequire } from 'node:module';
import type { XlsxBudget } from './xlsx-limits.ts';

/** The part of saxes's parser (exceljs's XML parser, loaded from exceljs's own dependencies) used here. */
interface SaxParser {
  on(event: 'opentag' | 'closetag', handler: (tag: { name: string }) => void): void;
  on(event: 'text', handler: (text: string) => void): void;
  on(event: 'error', handler: (error: Error) => void): void;
  write(chunk: string): void;
}

const { SaxesParser } = createRequire(createRequire(import.meta.url).resolve('exceljs'))('saxes') as {
  SaxesParser: new () => SaxParser;
};

/**
 * Reads the workbook's shared-strings table (xl/sharedStrings.xml) into plain strings, counting them
 * and their characters against the budget as they arrive. It replaces exceljs 4.4.0's own reader,
 * which keeps every rich-text run as an object with its font (about 3.5 times the XML's size in heap:
 * 20 bytes of `<r><t>a</t></r>` become a 70-byte object) and has no limit. A cell only needs the text:
 * the runs of a string are joined, as read-xlsx.ts did with exceljs's objects, and phonetic guides
 * (`<rPh>`, the reading of Japanese text) are left out rather than replacing the text as in exceljs.
 *
 * Chunks are decoded as one UTF-8 stream, so a character split between two chunks stays whole.
 */
export async function readSharedStrings(
  entry: AsyncIterable<Uint8Array>,
  budget: XlsxBudget,
): Promise<string[]> {
  const strings: string[] = [];
  const parser = new SaxesParser();
  let error: Error | undefined;
  // The pieces of the string being read, joined at its end: `text += piece` for each of 65,000 one-letter
  // runs would keep a rope of 65,000 nodes (measured: 475 MB of heap for 155 MB of such XML).
  let pieces: string[] | undefined;
  let inText = 0;
  let inPhonetic = 0;
  parser.on('error', (err) => {
    error ??= err;
  });
  parser.on('opentag', ({ name }) => {
    if (name === 'si') pieces = [];
    else if (name === 't') inText++;
    else if (name === 'rPh') inPhonetic++;
  });
  parser.on('closetag', ({ name }) => {
    if (name === 'si' && pieces !== undefined) {
      budget.addSharedString();
      strings.push(pieces.join(''));
      pieces = undefined;
    } else if (name === 't') inText--;
    else if (name === 'rPh') inPhonetic--;
  });
  parser.on('text', (value) => {
    if (pieces === undefined || inText <= 0 || inPhonetic > 0) return;
    budget.addSharedStringChars(value.length);
    pieces.push(value);
  });
  const decoder = new TextDecoder();
  for await (const chunk of entry) {
    parser.write(decoder.decode(chunk, { stream: true }));
    if (error) throw error;
  }
  parser.write(decoder.decode());
  if (error) throw error;
  return strings;
}
