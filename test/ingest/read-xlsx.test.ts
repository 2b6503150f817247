import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';
import { describe, expect, it, vi } from 'vitest';
import { dateText, formatNumber, readXlsxTemplate } from '../../src/ingest/read-xlsx.ts';
import type { ReadOptions, TemplateEvent } from '../../src/ingest/template.ts';
import {
  chunked,
  clickId,
  collect,
  expectWellFormed,
  fileError,
  random,
  rowError,
  rows,
  sheet,
  workbook,
} from './helpers.ts';

const headerRow = [
  'Microsoft Click Id',
  'Conversion Name',
  'Conversion Time',
  'Conversion Value',
  'Conversion Currency',
];

function readXlsx(bytes: Uint8Array, options: Partial<ReadOptions> = {}, size = 16 * 1024) {
  return collect(readXlsxTemplate(chunked(bytes, size), { kind: 'conversions', ...options }));
}

function cellsOf(events: TemplateEvent[], row: number) {
  const found = events.find((e) => e.type === 'row' && e.row === row);
  expect(found, JSON.stringify(events)).toBeDefined();
  return (found as Extract<TemplateEvent, { type: 'row' }>).cells;
}

/** Temporary files exceljs spooled worksheets to, for this process. */
function spooledFiles() {
  return readdirSync(tmpdir()).filter((name) => name.startsWith(`tmp-${process.pid}-`));
}

describe('readXlsxTemplate', () => {
  it("reads Microsoft's example from the first worksheet", async () => {
    const bytes = await sheet([
      ['Parameters:TimeZone=-0500'],
      headerRow,
      [clickId, 'Purchase', new Date(Date.UTC(2017, 5, 1, 13, 0, 0)), 10.5, 'USD'],
    ]);
    expect(await readXlsx(bytes)).toEqual([
      {
        type: 'header',
        header: {
          headerRow: 2,
          kind: 'conversions',
          columns: ['clickId', 'conversionName', 'conversionTime', 'conversionValue', 'conversionCurrency'],
          names: headerRow,
          unknownColumns: [],
          timeZone: '-0500',
        },
      },
      {
        type: 'row',
        row: 3,
        cells: {
          clickId,
          conversionName: 'Purchase',
          conversionTime: '2017-06-01 13:00:00',
          conversionValue: '10.5',
          conversionCurrency: 'USD',
        },
      },
    ]);
  });

  it('turns every kind of cell into text', async () => {
    const bytes = await workbook((wb) => {
      const ws = wb.addWorksheet('Conversions');
      ws.addRow([...headerRow, 'Notes']);
      ws.addRow([
        'a',
        { richText: [{ text: 'Pur' }, { font: { bold: true }, text: 'chase' }] },
        '06/01/2017 1:00:00 PM',
        0.1 + 0.2,
        true,
      ]);
      ws.addRow([
        'b',
        { text: 'Purchase', hyperlink: 'https://example.com' },
        new Date(Date.UTC(2017, 5, 1, 23, 59, 59)),
        12_345_678_901_234,
        false,
      ]);
      ws.addRow([
        'c',
        { formula: 'A1&"x"', result: 'Lead' },
        { formula: 'TODAY()', result: 42887.5 },
        { formula: '1-1', result: 0 },
      ]);
      ws.getCell('C4').numFmt = 'yyyy-mm-dd hh:mm';
      ws.addRow(['d', 'Purchase', '2017-06-01T13:00:00', 999_999_999_999.999, ' USD ', { error: '#N/A' }]);
    });
    const events = await readXlsx(bytes);
    expect(events.map((e) => e.type)).toEqual(['header', 'row', 'row', 'row', 'row']);
    expect(cellsOf(events, 2)).toEqual({
      clickId: 'a',
      conversionName: 'Purchase',
      conversionTime: '06/01/2017 1:00:00 PM',
      conversionValue: '0.3',
      conversionCurrency: 'TRUE',
    });
    expect(cellsOf(events, 3)).toMatchObject({
      conversionName: 'Purchase',
      conversionTime: '2017-06-01 23:59:59',
      conversionValue: '12345678901234',
      conversionCurrency: 'FALSE',
    });
    expect(cellsOf(events, 4)).toEqual({
      clickId: 'c',
      conversionName: 'Lead',
      conversionTime: '2017-06-01 12:00:00',
      conversionValue: '0',
    });
    // An error in a column closeloop does not use does not spoil the row.
    expect(cellsOf(events, 5)).toMatchObject({
      conversionValue: '999999999999.999',
      conversionCurrency: 'USD',
    });
  });

  it('reads dates of a workbook in the 1904 date system', async () => {
    const bytes = await workbook((wb) => {
      wb.properties.date1904 = true;
      const ws = wb.addWorksheet('S');
      ws.addRow(headerRow);
      ws.addRow([clickId, 'Purchase', new Date(Date.UTC(2017, 5, 1, 13, 0, 0))]);
    });
    expect(cellsOf(await readXlsx(bytes), 2).conversionTime).toBe('2017-06-01 13:00:00');
  });

  it('reports error cells, formulas without a result and too-large cells in used columns', async () => {
    const bytes = await sheet([
      headerRow,
      [clickId, 'Purchase', { error: '#N/A' }],
      [clickId, 'Purchase', { formula: 'NA()', result: { error: '#N/A' } }],
      [clickId, 'Purchase', { formula: 'B2' }],
      [clickId, 'x'.repeat(5000), 't'],
      [clickId, 'Purchase', 't'],
    ]);
    const events = await readXlsx(bytes);
    expect(rowError(events, 2)).toMatchObject({
      code: 'MALFORMED_ROW',
      column: 'conversionTime',
      message: expect.stringContaining('Cell C2 shows the error #N/A'),
    });
    expect(rowError(events, 3).message).toContain('Cell C3 holds a formula whose result is an error');
    expect(rowError(events, 4).message).toContain('Cell C4 holds a formula without a saved result');
    expect(rowError(events, 5)).toMatchObject({
      code: 'CELL_TOO_LARGE',
      column: 'conversionName',
      message: expect.stringContaining('5,000 characters'),
    });
    expect(cellsOf(events, 6)).toMatchObject({ conversionName: 'Purchase' });
  });

  it('numbers rows as Excel does and skips blank rows', async () => {
    const bytes = await workbook((wb) => {
      const ws = wb.addWorksheet('S');
      ws.getRow(2).values = headerRow;
      ws.getRow(4).values = [clickId, 'Purchase', 't'];
      ws.getRow(5).values = [null, '  ', ''];
      ws.getRow(9).values = [clickId, 'Purchase', 't'];
    });
    const events = await readXlsx(bytes);
    expect(events[0]).toMatchObject({ type: 'header', header: { headerRow: 2 } });
    expect(rows(events).map((e) => e.row)).toEqual([4, 9]);
  });

  it('reads the first visible worksheet in tab order', async () => {
    const bytes = await workbook((wb) => {
      const hidden = wb.addWorksheet('Lookup');
      hidden.state = 'hidden';
      hidden.addRow(['nothing here']);
      const ws = wb.addWorksheet('Conversions');
      ws.addRow(headerRow);
      ws.addRow([clickId, 'Purchase', 't']);
      const other = wb.addWorksheet('Other');
      other.addRow(headerRow);
      other.addRow([clickId, 'Other', 't']);
    });
    const events = await readXlsx(bytes);
    expect(rows(events)).toHaveLength(1);
    expect(cellsOf(events, 2).conversionName).toBe('Purchase');
  });

  it("reads a file from exceljs's streaming writer, with and without shared strings", async () => {
    for (const useSharedStrings of [false, true]) {
      const out = new PassThrough();
      const parts: Buffer[] = [];
      out.on('data', (part: Buffer) => parts.push(part));
      const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings });
      const ws = wb.addWorksheet('Conversions');
      ws.addRow(headerRow).commit();
      for (let i = 0; i < 100; i++)
        ws.addRow([clickId, `Goal ${i}`, new Date(Date.UTC(2017, 5, 1, 13, 0, i % 60)), i + 0.25]).commit();
      ws.commit();
      await wb.commit();
      const events = await readXlsx(Buffer.concat(parts));
      expect(rows(events)).toHaveLength(100);
      expect(cellsOf(events, 101)).toEqual({
        clickId,
        conversionName: 'Goal 99',
        conversionTime: '2017-06-01 13:00:39',
        conversionValue: '99.25',
      });
    }
  });

  it('applies the header checks and row limit of the template', async () => {
    const missing = await readXlsx(
      await sheet([
        ['Microsoft Click Id', 'Conversion Name'],
        [clickId, 'x'],
      ]),
    );
    expect(fileError(missing)).toMatchObject({ code: 'MISSING_REQUIRED_COLUMN' });
    const many = await readXlsx(
      await sheet([headerRow, ...Array.from({ length: 50 }, () => [clickId, 'P', 't'])]),
      {
        maxRows: 5,
      },
    );
    expect(many.map((e) => e.type)).toEqual(['header', 'row', 'row', 'row', 'row', 'row', 'fileError']);
    expect(fileError(many).code).toBe('TOO_MANY_ROWS');
    expect(fileError(await readXlsx(await sheet([headerRow]))).code).toBe('EMPTY_FILE');
  });

  it('leaves no temporary file behind, read to the end or stopped early', async () => {
    const bytes = await workbook((wb) => {
      for (const name of ['A', 'B', 'C']) {
        const ws = wb.addWorksheet(name);
        ws.addRow(headerRow);
        for (let i = 0; i < 20; i++) ws.addRow([clickId, 'Purchase', 't']);
      }
    });
    const before = spooledFiles();
    await readXlsx(bytes);
    await readXlsx(bytes, { maxRows: 3 });
    for await (const event of readXlsxTemplate(chunked(bytes), { kind: 'conversions' })) {
      if (event.type === 'row') break;
    }
    // exceljs deletes them asynchronously.
    await vi.waitFor(() => expect(spooledFiles().filter((name) => !before.includes(name))).toEqual([]), {
      timeout: 5000,
    });
  });

  it('closes and deletes its spool files even when the workbook is damaged', async () => {
    const valid = await sheet([
      headerRow,
      ...Array.from({ length: 40 }, (_, i) => [clickId, `Goal ${i}`, 't']),
    ]);
    const descriptors = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
    const files = spooledFiles();
    const open = descriptors();
    const rng = random(42);
    for (let n = 0; n < 40; n++) {
      const bytes = Buffer.from(valid);
      for (let k = 0; k < 4; k++) bytes[rng.int(0, bytes.length - 1)] = rng.int(0, 255);
      expectWellFormed(await readXlsx(bytes));
    }
    await vi.waitFor(
      () => {
        expect(spooledFiles().filter((name) => !files.includes(name))).toEqual([]);
        expect(descriptors()).toBeLessThanOrEqual(open);
      },
      { timeout: 5000 },
    );
  });

  it('UNREADABLE_FILE for a damaged or truncated workbook, without hanging', async () => {
    const bytes = await sheet([
      headerRow,
      ...Array.from({ length: 200 }, (_, i) => [clickId, `Goal ${i}`, 't']),
    ]);
    for (const cut of [30, 200, bytes.length >> 1, bytes.length - 30]) {
      const events = await readXlsx(bytes.subarray(0, cut));
      expectWellFormed(events);
      expect(fileError(events)).toMatchObject({
        code: 'UNREADABLE_FILE',
        message: expect.stringMatching(/cut short/),
      });
    }
  });

  it('UNREADABLE_FILE for a ZIP archive without a worksheet', async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('S');
    const zip = Buffer.from(await wb.xlsx.writeBuffer());
    // Rename the worksheet part so the archive stays valid but holds no worksheet.
    const renamed = Buffer.from(
      zip.toString('latin1').replaceAll('worksheets/sheet1.xml', 'worksheets/other1.xml'),
      'latin1',
    );
    expect(fileError(await readXlsx(renamed))).toMatchObject({
      code: 'UNREADABLE_FILE',
      message: expect.stringContaining('holds no worksheet'),
    });
  });

  it('rethrows an error of the input itself', async () => {
    const bytes = await sheet([headerRow, [clickId, 'Purchase', 't']]);
    const input = (async function* () {
      yield bytes.subarray(0, 100);
      throw new Error('connection reset');
    })();
    await expect(collect(readXlsxTemplate(input, { kind: 'conversions' }))).rejects.toThrow(
      'connection reset',
    );
  });
});

describe('formatNumber', () => {
  it.each([
    [10.5, '10.5'],
    [0.1 + 0.2, '0.3'],
    [1.1 * 1.1, '1.21'],
    [10, '10'],
    [-0, '0'],
    [-12.5, '-12.5'],
    [1e21, '1000000000000000000000'],
    [12_345_678_901_234, '12345678901234'],
    [999_999_999_999.999, '999999999999.999'],
    [123_456_789.125, '123456789.125'],
    [0.000_000_15, '0.00000015'],
    [1 / 3, '0.333333333333'],
    [1234.5678, '1234.5678'],
  ])('%d → %s', (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });
});

describe('dateText', () => {
  it('writes the wall-clock time without a zone, rounded to the second', () => {
    expect(dateText(new Date(Date.UTC(2017, 5, 1, 12, 59, 59, 999)))).toBe('2017-06-01 13:00:00');
    expect(dateText(new Date(Date.UTC(2017, 0, 2, 3, 4, 5)))).toBe('2017-01-02 03:04:05');
    expect(dateText(new Date(Number.NaN))).toEqual({ error: expect.stringContaining('date') });
  });
});
