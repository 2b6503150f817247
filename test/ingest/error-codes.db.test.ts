import { sql } from 'drizzle-orm';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { rowErrorCodes } from '../../src/domain/row-errors.ts';
import { applyUpload } from '../../src/ingest/apply.ts';
import { previewUpload } from '../../src/ingest/preview.ts';
import { submitBatch } from '../../src/services/api-batches.ts';
import { createGoal } from '../../src/services/goals.ts';
import { testClock, testContext, textInput } from '../helpers/context.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { sharedStrings, workbookParts, worksheet, zipArchive } from './xlsx-bombs.ts';

/**
 * Every error code closeloop can give is produced here through the real pipeline (file → preview →
 * apply, or the JSON API), and its message names the row and says what to do.
 */
const clock = testClock('2026-06-01T00:00:00Z');
let database: Database;
const ctx = () => testContext(database, clock.now);
const seen = new Set<string>();
const click = (c: string) => c.repeat(32);
const header = 'Microsoft Click Id,Conversion Name,Conversion Time,Conversion Value,Conversion Currency';

beforeAll(async () => {
  database = await createTestDatabase();
  await createGoal({ ctx: ctx(), input: { name: 'Purchase', conversionWindow: '1d' } });
  await createGoal({ ctx: ctx(), input: { name: 'Paused', status: 'paused' } });
  clock.set('2026-06-15T12:00:00Z');
});
afterAll(() => database.close());

async function rowsOf(csv: string, kind: 'conversions' | 'adjustments' = 'conversions', apply = false) {
  let upload = await previewUpload({
    ctx: ctx(),
    input: textInput(csv),
    filename: 'codes.csv',
    kind,
    maxRows: 50,
  });
  if (upload.status === 'failed') {
    seen.add(upload.errorCode!);
    return { upload, rows: [] };
  }
  if (apply) upload = await applyUpload({ ctx: ctx(), uploadId: upload.id });
  const rows = await database.query<{
    row: number;
    status: string;
    error_code: string | null;
    message: string | null;
  }>(
    sql`select row, status, error_code, message from upload_rows where upload_id = ${upload.id} order by row`,
  );
  for (const r of rows) if (r.error_code) seen.add(r.error_code);
  return { upload, rows };
}

const rowCases: [string, string][] = [
  ['MISSING_CLICK_ID', `,Purchase,2026-06-10 10:00:00,,`],
  ['INVALID_CLICK_ID', `xyz,Purchase,2026-06-10 10:00:00,,`],
  ['MISSING_CONVERSION_NAME', `${click('a')},,2026-06-10 10:00:00,,`],
  ['CONVERSION_NAME_TOO_LONG', `${click('a')},${'n'.repeat(101)},2026-06-10 10:00:00,,`],
  ['UNKNOWN_GOAL', `${click('a')},purchase,2026-06-10 10:00:00,,`],
  ['GOAL_PAUSED', `${click('a')},Paused,2026-06-10 10:00:00,,`],
  ['MISSING_CONVERSION_TIME', `${click('a')},Purchase,,,`],
  ['INVALID_TIME_FORMAT', `${click('a')},Purchase,yesterday,,`],
  ['INVALID_DATE', `${click('a')},Purchase,2026-02-30 10:00:00,,`],
  ['INVALID_TIME_ZONE', `${click('a')},Purchase,2026-06-10 10:00:00 MarsStandardTime,,`],
  ['NONEXISTENT_LOCAL_TIME', `${click('a')},Purchase,2026-03-08 02:30:00 EasternTimeUSCanada,,`],
  ['FUTURE_CONVERSION_TIME', `${click('a')},Purchase,2026-06-16 10:00:00,,`],
  ['INVALID_VALUE', `${click('a')},Purchase,2026-06-10 10:00:00,ten,`],
  ['VALUE_COMMA_DECIMAL', `${click('a')},Purchase,2026-06-10 10:00:00,"12,5",`],
  ['VALUE_TOO_MANY_DECIMALS', `${click('a')},Purchase,2026-06-10 10:00:00,1.2345,`],
  ['VALUE_NEGATIVE', `${click('a')},Purchase,2026-06-10 10:00:00,-5,`],
  ['VALUE_OUT_OF_RANGE', `${click('a')},Purchase,2026-06-10 10:00:00,1000000000000,`],
  ['INVALID_CURRENCY', `${click('a')},Purchase,2026-06-10 10:00:00,5,XYZ`],
  ['CONVERSION_TOO_OLD', `${click('a')},Purchase,2026-01-10 10:00:00,,`],
  ['MALFORMED_ROW', `${click('a')},Purchase,2026-06-10 10:00:00,5,USD,surplus`],
  ['CELL_TOO_LARGE', `${click('a')},Purchase,${'9'.repeat(5000)},,`],
  [
    'DUPLICATE_IN_FILE',
    `${click('c')},Purchase,2026-06-10 10:00:00,,\n${click('c')},Purchase,2026-06-10 10:00:00,,`,
  ],
];

describe('every row error code, through a file', () => {
  it.each(rowCases)('%s', async (code, line) => {
    const { rows } = await rowsOf(`${header}\n${line}`);
    const hit = rows.find((r) => r.error_code === code);
    expect(hit, JSON.stringify(rows)).toBeDefined();
    expect(hit!.message).toMatch(new RegExp(`^Row ${hit!.row}\\b`));
    expect(hit!.status).toBe(
      code === 'CONVERSION_TOO_OLD' ? 'expired' : code.startsWith('DUPLICATE') ? 'duplicate' : 'rejected',
    );
  });

  it('DUPLICATE_IN_LEDGER', async () => {
    const csv = `${header}\n${click('d')},Purchase,2026-06-10 10:00:00,,`;
    await rowsOf(csv, 'conversions', true);
    const { rows } = await rowsOf(csv);
    expect(rows[0]).toMatchObject({ status: 'duplicate', error_code: 'DUPLICATE_IN_LEDGER' });
  });

  it('enhanced conversion identifiers', async () => {
    const { rows } = await rowsOf(
      [
        'Conversion Name,Conversion Time,Hashed Email Address,Hashed Phone Number,Email,Phone',
        'Purchase,2026-06-10 10:00:00,not-a-hash,,,',
        'Purchase,2026-06-10 10:00:00,,12345,,',
        'Purchase,2026-06-10 10:00:00,,,no-at-sign,',
        'Purchase,2026-06-10 10:00:00,,,,555-0100',
      ].join('\n'),
    );
    expect(rows.map((r) => r.error_code)).toEqual([
      'INVALID_HASHED_EMAIL',
      'INVALID_HASHED_PHONE',
      'INVALID_EMAIL',
      'INVALID_PHONE',
    ]);
  });
});

describe('an optional Click Time column', () => {
  it('enables the click rules in files too', async () => {
    const { rows } = await rowsOf(
      [
        'Microsoft Click Id,Conversion Name,Conversion Time,Click Time',
        `${click('7')},Purchase,2026-06-10 10:00:00,2026-06-10 11:00:00`,
        `${click('6')},Purchase,2026-06-10 10:00:00,2026-06-08 10:00:00`,
        `${click('5')},Purchase,2026-06-10 10:00:00,2026-06-10 09:00:00`,
      ].join('\n'),
    );
    expect(rows.map((r) => [r.status, r.error_code])).toEqual([
      ['rejected', 'CONVERSION_BEFORE_CLICK'],
      ['expired', 'OUTSIDE_CONVERSION_WINDOW'],
      ['ok', null],
    ]);
  });
});

describe('adjustment codes', () => {
  it('covers every adjustment rule', async () => {
    await rowsOf(`${header}\n${click('e')},Purchase,2026-06-10 10:00:00,,`, 'conversions', true);
    await rowsOf(`${header}\n${click('f')},Purchase,2026-01-10 10:00:00,,`, 'conversions', true);
    const adj =
      'Microsoft Click Id,Conversion Name,Conversion Time,Adjustment Type,Adjustment Time,Adjustment Value';
    const { rows } = await rowsOf(
      [
        adj,
        `${click('e')},Purchase,2026-06-10 10:00:00,Refund,2026-06-11 10:00:00,`,
        `${click('e')},Purchase,2026-06-10 10:00:00,Retract,,`,
        `${click('e')},Purchase,2026-06-10 10:00:00,Retract,2026-06-09 10:00:00,`,
        `${click('e')},Purchase,2026-06-10 10:00:00,Retract,2026-06-20 10:00:00,`,
        `${click('e')},Purchase,2026-06-10 10:00:00,Restate,2026-06-11 10:00:00,`,
        `${click('e')},Purchase,2026-06-10 10:00:00,Retract,2026-06-11 10:00:00,5`,
        `${click('b')},Purchase,2026-06-10 10:00:00,Retract,2026-06-11 10:00:00,`,
      ].join('\n'),
      'adjustments',
    );
    expect(rows.map((r) => r.error_code)).toEqual([
      'INVALID_ADJUSTMENT_TYPE',
      'MISSING_ADJUSTMENT_TIME',
      'ADJUSTMENT_BEFORE_CONVERSION',
      'FUTURE_ADJUSTMENT_TIME',
      'ADJUSTMENT_VALUE_REQUIRED',
      'ADJUSTMENT_VALUE_NOT_EXPECTED',
      'ADJUSTMENT_NO_MATCHING_CONVERSION',
    ]);
    // The expired conversion (older than 90 days) cannot be adjusted: there is nothing at Microsoft.
    clock.set('2026-06-15T12:00:00Z');
    const old = await rowsOf(
      `${adj}\n${click('f')},Purchase,2026-01-10 10:00:00,Retract,2026-06-11 10:00:00,`,
      'adjustments',
    );
    expect(old.rows[0]!.error_code).toMatch(/ADJUSTMENT_CONVERSION_NOT_SENDABLE|CONVERSION_TOO_OLD/);
  });
});

describe('click time rules (JSON API)', () => {
  it('CONVERSION_BEFORE_CLICK and OUTSIDE_CONVERSION_WINDOW', async () => {
    const result = await submitBatch({
      ctx: ctx(),
      kind: 'conversions',
      body: {
        conversions: [
          {
            clickId: click('1'),
            conversionName: 'Purchase',
            conversionTime: '2026-06-10T10:00:00Z',
            clickTime: '2026-06-10T11:00:00Z',
          },
          {
            clickId: click('2'),
            conversionName: 'Purchase',
            conversionTime: '2026-06-12T10:00:00Z',
            clickTime: '2026-06-10T09:00:00Z',
          },
          {
            clickId: click('3'),
            conversionName: 'Purchase',
            conversionTime: '2026-06-15T11:50:00Z',
            clickTime: '2026-06-15T11:30:00Z',
          },
        ],
      },
    });
    expect(result.results.map((r) => [r.status, r.errorCode])).toEqual([
      ['rejected', 'CONVERSION_BEFORE_CLICK'],
      ['expired', 'OUTSIDE_CONVERSION_WINDOW'],
      ['held', null],
    ]);
    for (const r of result.results) if (r.errorCode) seen.add(r.errorCode);
  });
});

describe('whole-file codes', () => {
  it.each([
    ['EMPTY_FILE', ''],
    ['MISSING_REQUIRED_COLUMN', 'Conversion Name,Conversion Value\nPurchase,1'],
    ['DUPLICATE_COLUMN', 'Microsoft Click Id,Conversion Name,Conversion Time,Conversion Time\nx,y,z,w'],
    [
      'WRONG_FILE_KIND',
      'Microsoft Click Id,Conversion Name,Conversion Time,Adjustment Type,Adjustment Time\nx,y,z,Retract,w',
    ],
    [
      'INVALID_PARAMETERS_ROW',
      `Parameters:TimeZone=Atlantis\n${header}\n${click('a')},Purchase,2026-06-10 10:00:00,,`,
    ],
    [
      'TOO_MANY_ROWS',
      `${header}\n${Array.from({ length: 51 }, (_, i) => `${click('a')},Purchase,2026-06-10 10:00:${String(i % 60).padStart(2, '0')},,`).join('\n')}`,
    ],
    ['UNREADABLE_FILE', '\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 legacy xls'],
  ])('%s refuses the upload with the reason and keeps no rows', async (code, text) => {
    const input =
      code === 'UNREADABLE_FILE'
        ? (async function* () {
            yield Buffer.from(text, 'latin1');
          })()
        : textInput(text);
    const upload = await previewUpload({
      ctx: ctx(),
      input,
      filename: 'x.csv',
      kind: 'conversions',
      maxRows: 50,
    });
    expect(upload.status).toBe('failed');
    expect(upload.errorCode).toBe(code);
    expect(upload.errorMessage!.length).toBeGreaterThan(20);
    seen.add(code);
    expect(
      await database.query(sql`select count(*)::int as n from upload_rows where upload_id = ${upload.id}`),
    ).toEqual([{ n: 0 }]);
  });

  it('an XLSX file goes through the same pipeline', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Conversions');
    ws.addRow(['Parameters:TimeZone=-0500']);
    ws.addRow(header.split(','));
    ws.addRow([click('9'), 'Purchase', new Date(Date.UTC(2026, 5, 10, 8, 0, 0)), 12.5, 'USD']);
    ws.addRow([click('8'), 'Purchase', '2026-06-10 09:00:00', '12,5', 'USD']);
    const buffer = Buffer.from(await wb.xlsx.writeBuffer());
    const upload = await previewUpload({
      ctx: ctx(),
      input: (async function* () {
        yield buffer;
      })(),
      filename: 'book.xlsx',
      kind: 'conversions',
    });
    expect(upload.counts).toEqual({ ok: 1, rejected: 1 });
    const rows = await database.query<{ conversion_time: string }>(
      sql`select to_char(conversion_time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as conversion_time from upload_rows where upload_id = ${upload.id} and status = 'ok'`,
    );
    // An Excel date is a wall-clock time: 08:00 in the file's -0500 zone is 13:00 UTC.
    expect(rows).toEqual([{ conversion_time: '2026-06-10 13:00:00' }]);
  });

  it('WORKBOOK_TOO_LARGE refuses a workbook that unpacks to a gigabyte of shared strings', async () => {
    const bomb = zipArchive([...workbookParts, sharedStrings('Purchase', 1024), worksheet()]);
    const upload = await previewUpload({
      ctx: ctx(),
      input: (async function* () {
        yield bomb;
      })(),
      filename: 'book.xlsx',
      kind: 'conversions',
      maxRows: 50,
    });
    expect(upload).toMatchObject({ status: 'failed', errorCode: 'WORKBOOK_TOO_LARGE' });
    expect(upload.errorMessage).toContain('CSV UTF-8');
    seen.add(upload.errorCode!);
  });
});

describe('coverage of the catalogue', () => {
  it('every code in the catalogue was produced above (INTERRUPTED: see the retention test)', () => {
    seen.add('INTERRUPTED');
    expect([...Object.keys(rowErrorCodes)].filter((c) => !seen.has(c))).toEqual([]);
  });
});
