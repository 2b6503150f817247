import { describe, expect, it } from 'vitest';
import { readCsvTemplate } from '../../src/ingest/read-csv.ts';
import type { TemplateEvent } from '../../src/ingest/template.ts';
import {
  chunked,
  clickId,
  collect,
  conversionsHeader,
  expectWellFormed,
  fileError,
  readCsv,
  rowError,
  rows,
} from './helpers.ts';

const line = `${clickId},Purchase,06/01/2017 1:00:00 PM,10.5,USD`;

function header(events: TemplateEvent[]) {
  const first = events[0];
  expect(first?.type, JSON.stringify(events)).toBe('header');
  return (first as Extract<TemplateEvent, { type: 'header' }>).header;
}

describe('readCsvTemplate: the template', () => {
  it("reads Microsoft's example", async () => {
    const events = await readCsv(`Parameters:TimeZone=-0500\n${conversionsHeader}\n${line}\n`);
    expect(events).toEqual([
      {
        type: 'header',
        header: {
          headerRow: 2,
          kind: 'conversions',
          columns: ['clickId', 'conversionName', 'conversionTime', 'conversionValue', 'conversionCurrency'],
          names: [
            'Microsoft Click Id',
            'Conversion Name',
            'Conversion Time',
            'Conversion Value',
            'Conversion Currency',
          ],
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
          conversionTime: '06/01/2017 1:00:00 PM',
          conversionValue: '10.5',
          conversionCurrency: 'USD',
        },
      },
    ]);
  });

  it('trims cells, omits empty ones and ignores unknown columns but reports them', async () => {
    const events = await readCsv(
      `Notes,Microsoft Click ID,conversion_name,Conversion Time,,Conversion Value\nhello,  ${clickId} , Purchase ,t1,x,\n`,
    );
    const h = header(events);
    expect(h.columns).toEqual([null, 'clickId', 'conversionName', 'conversionTime', null, 'conversionValue']);
    expect(h.unknownColumns).toEqual([{ name: 'Notes', column: 1 }]);
    expect(h.timeZone).toBeUndefined();
    expect(events[1]).toEqual({
      type: 'row',
      row: 2,
      cells: { clickId, conversionName: 'Purchase', conversionTime: 't1' },
    });
  });

  it('reads an adjustments file', async () => {
    const events = await readCsv(
      'Microsoft Click Id,Conversion Name,Conversion Time,Adjustment Value,Adjustment Currency Code,Adjustment Type,Adjustment Time\n' +
        `${clickId},Purchase,2017-06-01 13:00:00,12,EUR,Restate,2017-06-02 10:00:00\n`,
      { kind: 'adjustments' },
    );
    expect(events[1]).toMatchObject({
      type: 'row',
      cells: { adjustmentValue: '12', adjustmentCurrency: 'EUR', adjustmentType: 'Restate' },
    });
  });

  it('accepts hashed or plain email/phone columns instead of the click ID', async () => {
    for (const column of ['Hashed Email Address', 'Hashed Phone Number', 'Email', 'Phone Number']) {
      const events = await readCsv(`${column},Conversion Name,Conversion Time\nx,Purchase,t\n`);
      expect(events.map((e) => e.type)).toEqual(['header', 'row']);
    }
  });

  it('skips blank lines (also rows of empty cells) but counts them in row numbers', async () => {
    const events = await readCsv(`\n${conversionsHeader}\n\n${line}\n,,,,\n  \n${line}\n\n`);
    expect(header(events).headerRow).toBe(2);
    expect(rows(events).map((e) => e.row)).toEqual([4, 7]);
  });

  it('keeps a quoted line break inside one row', async () => {
    const events = await readCsv(`${conversionsHeader}\n${clickId},"Pur\nchase",t,1,USD\n${line}\n`);
    expect(rows(events).map((e) => e.row)).toEqual([2, 3]);
    expect(events[1]).toMatchObject({ cells: { conversionName: 'Pur\nchase' } });
  });

  it('reads quoted cells with delimiters, doubled quotes, spaces around them', async () => {
    const events = await readCsv(`${conversionsHeader}\n${clickId}, "Purchase, ""big""" ,t,"1",""\n`);
    expect(events[1]).toEqual({
      type: 'row',
      row: 2,
      cells: { clickId, conversionName: 'Purchase, "big"', conversionTime: 't', conversionValue: '1' },
    });
  });

  it('reads a file without a final line break, and CR, LF and CRLF mixed', async () => {
    const events = await readCsv(`${conversionsHeader}\r\n${line}\r${line}\n${line}\r\n${line}`);
    expect(rows(events).map((e) => e.row)).toEqual([2, 3, 4, 5]);
    expect(rows(events).every((e) => e.type === 'row')).toBe(true);
  });

  it('gives the same events whatever the chunk size', async () => {
    const text = `\ufeffParameters:TimeZone=EasternTimeUSCanada\r\n${conversionsHeader}\r\n${line}\r\n"${clickId}","Pur""chase\r\nx",t,1,USD\r\n\r\n${line}`;
    const whole = await readCsv(text);
    for (const size of [1, 2, 3, 7, 64]) expect(await readCsv(text, {}, size)).toEqual(whole);
  });

  it('accepts string chunks', async () => {
    const input = (async function* () {
      yield `\ufeff${conversionsHeader}\n${clickId},Pur`;
      yield 'chase,t\n';
    })();
    const events = await collect(readCsvTemplate(input, { kind: 'conversions' }));
    expect(events[1]).toMatchObject({ type: 'row', cells: { conversionName: 'Purchase' } });
  });
});

describe('readCsvTemplate: encodings and delimiters', () => {
  const text = `Parameters:TimeZone=-0500\r\n${conversionsHeader}\r\n${clickId},Café,t,1,EUR\r\n`;

  it('strips a UTF-8 BOM', async () => {
    const events = await readCsv(`\ufeff${text}`);
    expect(header(events).names[0]).toBe('Microsoft Click Id');
    expect(header(events).timeZone).toBe('-0500');
  });

  it.each([
    ['UTF-16 LE with BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])],
    ['UTF-16 BE with BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()])],
    ['UTF-16 LE without BOM', Buffer.from(text, 'utf16le')],
  ])('decodes %s', async (_, bytes) => {
    for (const size of [1, 3, 1024]) {
      const events = await readCsv(bytes, {}, size);
      expect(events[1]).toMatchObject({ type: 'row', row: 3, cells: { conversionName: 'Café' } });
    }
  });

  it('detects semicolons (European Excel) and tabs (Unicode text) from the header line', async () => {
    const semicolon = await readCsv(
      `Parameters:TimeZone=-0500;;;;\n${conversionsHeader.replaceAll(',', ';')}\n${clickId};Purchase, Inc;t;10,5;EUR\n`,
    );
    expect(semicolon[1]).toMatchObject({
      cells: { conversionName: 'Purchase, Inc', conversionValue: '10,5' },
    });
    const tab = await readCsv(`${conversionsHeader.replaceAll(',', '\t')}\n${clickId}\tPurchase, Inc\tt\n`);
    expect(tab[1]).toMatchObject({ cells: { conversionName: 'Purchase, Inc' } });
  });

  it('rejects a row with invalid UTF-8 or NUL bytes, asking for UTF-8', async () => {
    const bytes = Buffer.concat([
      Buffer.from(`${conversionsHeader}\n${clickId},Caf`),
      Buffer.from([0xe9]), // "é" in Windows-1252
      Buffer.from(`,t\n${clickId},a\u0000b,t\n${line}\n`),
    ]);
    const events = await readCsv(bytes);
    expect(rowError(events, 2)).toMatchObject({
      code: 'MALFORMED_ROW',
      message: expect.stringContaining('UTF-8'),
    });
    expect(rowError(events, 3).code).toBe('MALFORMED_ROW');
    expect(events[3]).toMatchObject({ type: 'row', row: 4 });
  });
});

describe('readCsvTemplate: the Parameters row', () => {
  it.each([
    ['Parameters:TimeZone=-0500', '-0500'],
    ['parameters: timezone = EasternTimeUSCanada ', 'EasternTimeUSCanada'],
    ['"Parameters:TimeZone=+0100",,,,', '+0100'],
    ['PARAMETERS:Time_Zone=UTC', 'UTC'],
  ])('%j', async (row, zone) => {
    const events = await readCsv(`${row}\n${conversionsHeader}\n${line}\n`);
    expect(header(events).timeZone).toBe(zone);
  });

  it('accepts an empty Parameters row and blank lines before the header', async () => {
    const events = await readCsv(`Parameters:\n\n${conversionsHeader}\n${line}\n`);
    expect(header(events)).toMatchObject({ headerRow: 3 });
    expect(header(events).timeZone).toBeUndefined();
  });

  it.each([
    ['Parameters:Currency=USD', /parameter closeloop does not know: "Currency"/],
    ['Parameters:TimeZone=-0500;Foo=1', /"Foo"/],
    ['Parameters:TimeZone=-0500,Foo=1,Bar', /parameters closeloop does not know: "Foo", "Bar"/],
    ['Parameters:TimeZone=', /"TimeZone" without a value/],
    ['Parameters:TimeZone=-0500;TimeZone=+0100', /two time zones/],
  ])('%j → INVALID_PARAMETERS_ROW', async (row, message) => {
    const events = await readCsv(`${row}\n${conversionsHeader}\n${line}\n`);
    expect(events).toHaveLength(1);
    expect(fileError(events)).toMatchObject({
      code: 'INVALID_PARAMETERS_ROW',
      message: expect.stringMatching(message),
    });
    expect(fileError(events).message).toContain('row 1');
  });
});

describe('readCsvTemplate: file errors', () => {
  it('MISSING_REQUIRED_COLUMN names the column, lists those found and shows the expected header', async () => {
    const events = await readCsv(`Microsoft Click Id,Conversion Name,Conversion Value\n${line}\n`);
    const error = fileError(events);
    expect(events).toHaveLength(1);
    expect(error.code).toBe('MISSING_REQUIRED_COLUMN');
    expect(error.message).toContain('has no Conversion Time column');
    expect(error.message).toContain(
      'Columns found: "Microsoft Click Id", "Conversion Name", "Conversion Value"',
    );
    expect(error.message).toContain(conversionsHeader);
  });

  it('MISSING_REQUIRED_COLUMN when neither a click ID nor an identifier column exists', async () => {
    const error = fileError(await readCsv('Conversion Name,Conversion Time\na,b\n'));
    expect(error.code).toBe('MISSING_REQUIRED_COLUMN');
    expect(error.message).toMatch(/no Microsoft Click Id \(or.*Hashed Email Address/);
  });

  it('MISSING_REQUIRED_COLUMN for adjustments names every missing column', async () => {
    const error = fileError(
      await readCsv('Microsoft Click Id,Adjustment Type\nx,Retract\n', { kind: 'adjustments' }),
    );
    expect(error.code).toBe('MISSING_REQUIRED_COLUMN');
    expect(error.message).toContain('has no Conversion Name, no Conversion Time, no Adjustment Time column');
    expect(error.message).toContain('An adjustments file starts with this header');
  });

  it('MISSING_REQUIRED_COLUMN says so when the first row is data, not a header', async () => {
    const error = fileError(await readCsv(`${line}\n${line}\n`));
    expect(error.message).toContain('must be the header row');
  });

  it('DUPLICATE_COLUMN names both columns', async () => {
    const error = fileError(await readCsv(`${conversionsHeader},conversion_time\n${line},x\n`));
    expect(error).toMatchObject({ code: 'DUPLICATE_COLUMN' });
    expect(error.message).toContain('Columns C ("Conversion Time") and F ("conversion_time")');
  });

  it.each([
    ['', /file is empty/],
    ['\ufeff\r\n\r\n', /file is empty/],
    ['Parameters:TimeZone=-0500\n', /Parameters row \(row 1\) but no header row/],
    [`${conversionsHeader}\n`, /header row \(row 1\) but no data rows/],
    [`${conversionsHeader}\n,,,,\n\n`, /no data rows/],
  ])('EMPTY_FILE for %j', async (text, message) => {
    const events = await readCsv(text);
    expect(fileError(events)).toMatchObject({ code: 'EMPTY_FILE', message: expect.stringMatching(message) });
  });

  it('TOO_MANY_ROWS after maxRows data rows, and stops reading there', async () => {
    let served = 0;
    const input = (async function* () {
      yield `${conversionsHeader}\n`;
      for (;;) {
        served++;
        yield `${line}\n`;
      }
    })();
    const events = await collect(readCsvTemplate(input, { kind: 'conversions', maxRows: 3 }));
    expect(events.map((e) => e.type)).toEqual(['header', 'row', 'row', 'row', 'fileError']);
    expect(fileError(events)).toMatchObject({
      code: 'TOO_MANY_ROWS',
      message: expect.stringContaining('more than 3 rows; split it into several uploads'),
    });
    expect(served).toBeLessThan(10);
  });

  it('TOO_MANY_ROWS speaks of 100,000 by default', async () => {
    const events = await readCsv(`Click Id,Conversion Name,Conversion Time\n${'x,P,t\n'.repeat(100_001)}`);
    expect(rows(events)).toHaveLength(100_000);
    expect(fileError(events).message).toMatch(
      /the file has more than 100,000 rows; split it into several uploads/i,
    );
  });

  it('TOO_MANY_ROWS after more empty rows than a spreadsheet has, and stops reading there', async () => {
    // Empty rows count toward no row limit, but each costs time: 64 MiB of line breaks took 44 s.
    let served = 0;
    const input = (async function* () {
      yield `${conversionsHeader}\n${line}\n`;
      for (let i = 0; i < 32; i++) {
        served++;
        yield ',,\n'.repeat(65_536);
      }
    })();
    const events = await collect(readCsvTemplate(input, { kind: 'conversions' }));
    expect(events.map((e) => e.type)).toEqual(['header', 'row', 'fileError']);
    expect(fileError(events)).toMatchObject({
      code: 'TOO_MANY_ROWS',
      message: expect.stringContaining('more than 1,048,576 empty rows'),
    });
    expect(served).toBe(17);
  });

  it('UNREADABLE_FILE when the header row is binary', async () => {
    const error = fileError(await readCsv(Buffer.from([0x00, 0x01, 0xff, 0xfe, 0x0a, 0x41])));
    expect(error.code).toBe('UNREADABLE_FILE');
  });
});

describe('readCsvTemplate: row errors and recovery', () => {
  it('a quote inside an unquoted cell: that row only', async () => {
    const events = await readCsv(`${conversionsHeader}\n${clickId},5" screen,t\n${line}\n`);
    expect(rowError(events, 2)).toMatchObject({
      code: 'MALFORMED_ROW',
      message: expect.stringContaining('inside a cell that does not start with a quote (column B)'),
    });
    expect(events[2]).toMatchObject({ type: 'row', row: 3 });
  });

  it('text after a closing quote: that row only', async () => {
    const events = await readCsv(`${conversionsHeader}\n${clickId},"5" screen,t\n${line}\n`);
    expect(rowError(events, 2).message).toContain('right after the closing quote');
    expect(events[2]).toMatchObject({ type: 'row', row: 3 });
  });

  it('an opening quote closed rows later by another quote: only its row is lost', async () => {
    const text = `${conversionsHeader}\n${clickId},"Purchase,t\n${line}\n${clickId},"Purchase, Inc",t\n${line}\n`;
    const events = await readCsv(text);
    expect(rows(events).map((e) => [e.row, e.type])).toEqual([
      [2, 'rowError'],
      [3, 'row'],
      [4, 'row'],
      [5, 'row'],
    ]);
    expect(rowError(events, 2).message).toContain('never closed');
    expect(events[3]).toMatchObject({ cells: { conversionName: 'Purchase, Inc' } });
  });

  it('an opening quote never closed before the end: only its row is lost', async () => {
    const events = await readCsv(`${conversionsHeader}\n${line}\n${clickId},"Purchase,t\n${line}\n${line}`);
    expect(rows(events).map((e) => [e.row, e.type])).toEqual([
      [2, 'row'],
      [3, 'rowError'],
      [4, 'row'],
      [5, 'row'],
    ]);
  });

  it('an unclosed quote swallowing more than a cell can hold: one row error, nothing crashes', async () => {
    const events = await readCsv(
      `${conversionsHeader}\n${line}\n${clickId},"${'x'.repeat(10_000)}\n${line}\n`,
      { maxCellLength: 100 },
      1000,
    );
    expect(rows(events).map((e) => e.row)).toEqual([2, 3]);
    expect(rowError(events, 3)).toMatchObject({
      code: 'MALFORMED_ROW',
      message: expect.stringContaining('never closed'),
    });
  });

  it('a multi-line quoted cell larger than a cell can hold is read as a stray quote', async () => {
    const events = await readCsv(`${conversionsHeader}\n${clickId},"Purchase,t\n${`${line}\n`.repeat(50)}`, {
      maxCellLength: 200,
    });
    expect(rowError(events, 2).message).toContain('never closed');
    expect(rows(events)).toHaveLength(51);
    expect(
      rows(events)
        .slice(1)
        .every((e) => e.type === 'row'),
    ).toBe(true);
  });

  it('extra cells: ignored when empty, MALFORMED_ROW otherwise; missing cells are empty', async () => {
    const events = await readCsv(`${conversionsHeader}\n${line},,, \n${line},oops\n${clickId},Purchase\n`);
    expect(events[1]).toMatchObject({ type: 'row', row: 2 });
    expect(rowError(events, 3)).toMatchObject({
      code: 'MALFORMED_ROW',
      message: expect.stringContaining('value in column F ("oops") but the header row has only 5 columns'),
    });
    expect(events[3]).toEqual({ type: 'row', row: 4, cells: { clickId, conversionName: 'Purchase' } });
  });

  it('CELL_TOO_LARGE names the column', async () => {
    const events = await readCsv(`${conversionsHeader}\n${clickId},${'x'.repeat(5000)},t\n${line}\n`);
    expect(rowError(events, 2)).toMatchObject({
      code: 'CELL_TOO_LARGE',
      column: 'conversionName',
      message: expect.stringContaining('The Conversion Name cell (column B) has 5,000 characters'),
    });
    expect(events[2]).toMatchObject({ type: 'row', row: 3 });
  });

  it('a too-large cell in an unknown column does not matter', async () => {
    const events = await readCsv(`${conversionsHeader},Notes\n${line},${'x'.repeat(5000)}\n`);
    expect(events[1]).toMatchObject({ type: 'row', row: 2 });
  });

  // The same holds for 50 MB (measured by bench-readers.ts); 8 MB keeps the suite fast.
  it('an 8 MB cell, quoted or not, is one CELL_TOO_LARGE and the rows after it are read', async () => {
    for (const quote of ['', '"']) {
      const block = Buffer.alloc(64 * 1024, 'x');
      const input = (async function* () {
        yield Buffer.from(`${conversionsHeader}\n${clickId},${quote}`);
        for (let i = 0; i < 128; i++) yield block;
        yield Buffer.from(`${quote},t\n${line}\n`);
      })();
      const events = await collect(readCsvTemplate(input, { kind: 'conversions' }));
      expect(rowError(events, 2)).toMatchObject({ code: 'CELL_TOO_LARGE', column: 'conversionName' });
      expect(rowError(events, 2).message).toContain('8,388,608 characters');
      expect(events[2]).toMatchObject({ type: 'row', row: 3 });
    }
  });

  it('a line of 100,000 empty cells is not kept whole', async () => {
    const events = await readCsv(`${conversionsHeader}\n${line}${','.repeat(100_000)}x\n${line}\n`);
    expect(rowError(events, 2).message).toContain('more than 16,384 cells');
    expect(events[2]).toMatchObject({ type: 'row', row: 3 });
  });

  it('random binary data after the header: row errors, never a crash', async () => {
    const garbage = Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919 + 13) % 256));
    const events = await readCsv(Buffer.concat([Buffer.from(`${conversionsHeader}\n`), garbage]));
    expectWellFormed(events);
    expect(rows(events).length).toBeGreaterThan(0);
    expect(rows(events).every((e) => e.type === 'rowError')).toBe(true);
  });
});

describe('readCsvTemplate: input', () => {
  it('rethrows an error of the input itself', async () => {
    const input = (async function* () {
      yield Buffer.from(`${conversionsHeader}\n${line}\n`);
      throw new Error('connection reset');
    })();
    await expect(collect(readCsvTemplate(input, { kind: 'conversions' }))).rejects.toThrow(
      'connection reset',
    );
  });

  it('closes the input when it stops early', async () => {
    let closed = false;
    const input = (async function* () {
      try {
        yield* chunked(`Parameters:Foo=1\n${conversionsHeader}\n${line}\n`, 5);
      } finally {
        closed = true;
      }
    })();
    const events = await collect(readCsvTemplate(input, { kind: 'conversions' }));
    expect(fileError(events).code).toBe('INVALID_PARAMETERS_ROW');
    expect(closed).toBe(true);
  });
});
