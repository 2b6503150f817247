import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readTemplate, sniffFormat } from '../../src/ingest/read-file.ts';
import { chunked, clickId, collect, conversionsHeader, fileError, rows, sheet } from './helpers.ts';

const csvText = `${conversionsHeader}\r\n${clickId},Purchase,06/01/2017 1:00:00 PM,10.5,USD\r\n`;
const fixture = (name: string) => readFileSync(new URL(`../fixtures/files/${name}`, import.meta.url));

describe('sniffFormat', () => {
  it.each([
    ['a ZIP archive', [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00], undefined, 'xlsx'],
    ['text', [...Buffer.from(csvText)], 'upload.csv', 'csv'],
    ['tab-separated text named .xls', [...Buffer.from('a\tb\n')], 'export.xls', 'csv'],
    ['UTF-16 text', [...Buffer.from(csvText, 'utf16le')], undefined, 'csv'],
    ['an empty file', [], undefined, 'csv'],
  ])('%s → %s', (_, bytes, filename, format) => {
    expect(sniffFormat(Uint8Array.from(bytes), filename)).toBe(format);
  });

  it.each([
    [
      'a legacy .xls',
      [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0],
      /Excel 97-2003 workbook \(\.xls\)/,
    ],
    ['a PDF', [...Buffer.from('%PDF-1.7\n')], /PDF document/],
    ['a web page', [...Buffer.from('\ufeff  <!DOCTYPE html><table>')], /web page/],
    [
      'an OpenDocument spreadsheet',
      [...Buffer.from('PK\x03\x04....mimetypeapplication/vnd.oasis.opendocument.spreadsheet')],
      /OpenDocument/,
    ],
    [
      'random binary',
      Array.from({ length: 512 }, (_, i) => (i * 131) % 256),
      /not a spreadsheet or CSV text/,
    ],
  ])('%s is refused', (_, bytes, message) => {
    const result = sniffFormat(Uint8Array.from(bytes));
    expect(result).toEqual({ message: expect.stringMatching(message) });
    expect((result as { message: string }).message).toMatch(
      /save it as an Excel workbook \(\.xlsx\) or as CSV UTF-8/,
    );
  });
});

describe('readTemplate', () => {
  it('reads CSV', async () => {
    const events = await collect(
      readTemplate(chunked(csvText, 7), { kind: 'conversions', filename: 'a.csv' }),
    );
    expect(events.map((e) => e.type)).toEqual(['header', 'row']);
  });

  it('reads XLSX told by its bytes, whatever the file name', async () => {
    const bytes = await sheet([conversionsHeader.split(','), [clickId, 'Purchase', 't']]);
    const events = await collect(
      readTemplate(chunked(bytes, 3), { kind: 'conversions', filename: 'upload.csv' }),
    );
    expect(events.map((e) => e.type)).toEqual(['header', 'row']);
  });

  it('reads from a Node stream', async () => {
    const events = await collect(
      readTemplate(Readable.from([Buffer.from(csvText)]), { kind: 'conversions' }),
    );
    expect(rows(events)).toHaveLength(1);
  });

  it('refuses a legacy .xls with UNREADABLE_FILE and closes the input', async () => {
    let closed = false;
    const input = (async function* () {
      try {
        yield Uint8Array.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
        yield new Uint8Array(4096);
      } finally {
        closed = true;
      }
    })();
    const events = await collect(readTemplate(input, { kind: 'conversions', filename: 'old.xls' }));
    expect(fileError(events)).toMatchObject({
      code: 'UNREADABLE_FILE',
      message: expect.stringContaining('.xls'),
    });
    expect(closed).toBe(true);
  });

  it('text named .xlsx is reported as an unreadable workbook', async () => {
    const events = await collect(
      readTemplate(chunked(csvText), { kind: 'conversions', filename: 'renamed.xlsx' }),
    );
    expect(fileError(events).code).toBe('UNREADABLE_FILE');
  });

  it('reads the committed fixtures', async () => {
    const european = await collect(
      readTemplate(chunked(fixture('conversions-excel-semicolon.csv')), { kind: 'conversions' }),
    );
    expect(european[0]).toMatchObject({ type: 'header', header: { timeZone: 'EasternTimeUSCanada' } });
    expect(rows(european).map((e) => [e.row, e.type])).toEqual([
      [3, 'row'],
      [4, 'row'],
      [6, 'rowError'],
      [7, 'row'],
    ]);
    expect(european[1]).toMatchObject({
      cells: { conversionName: 'Purchase; in store', conversionValue: '10,50' },
    });
    const adjustments = await collect(
      readTemplate(chunked(fixture('adjustments.csv')), { kind: 'adjustments', filename: 'adjustments.csv' }),
    );
    expect(rows(adjustments).map((e) => e.type)).toEqual(['row', 'row']);
    expect(adjustments[2]).toMatchObject({
      cells: { adjustmentType: 'Retract', adjustmentTime: '2017-06-03 09:00:00' },
    });
  });
});
