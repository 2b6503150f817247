import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { readXlsxTemplate } from '../../src/ingest/read-xlsx.ts';
import type { TemplateEvent } from '../../src/ingest/template.ts';
import { xlsxLimits } from '../../src/ingest/xlsx-limits.ts';
import { clickId, collect, expectWellFormed, fileError, rows } from './helpers.ts';
import {
  type BombPart,
  repeatTo,
  sharedStrings,
  workbookParts,
  worksheet,
  zipArchive,
} from './xlsx-bombs.ts';

/**
 * Workbooks that unpack to far more than a template needs are refused as a whole (WORKBOOK_TOO_LARGE),
 * early: each test checks which limit stopped the read and that the reader did not read on to the end
 * of the file. The limits scale with maxRows; at 1,000 rows (2,000 with the spare rows) a worksheet may
 * unpack to 3 MB, the shared strings to 1.5 MB, all parts to 6 MB, spool files to 3 MB; 32,000 strings
 * of 1,024,000 characters, 40,000 cells. The parts limit (16 MiB), the number of parts (2,000) and the
 * longest XML piece (256 KiB) do not scale.
 */
const maxRows = 1_000;
const limits = xlsxLimits(maxRows);

/** Reads `zip` in 64 KiB chunks; `consumed` is how much of it the reader pulled. */
async function read(zip: Buffer, options: { maxRows?: number } = { maxRows }) {
  let consumed = 0;
  async function* input() {
    for (let at = 0; at < zip.length; at += 65_536) {
      consumed = Math.min(zip.length, at + 65_536);
      yield zip.subarray(at, at + 65_536);
    }
  }
  const events = await collect(readXlsxTemplate(input(), { kind: 'conversions', ...options }));
  expectWellFormed(events);
  return { events, consumed };
}

/** 4 MiB that do not compress, last in the archive: a reader that stops early never gets to them. */
const padding: BombPart = { path: 'xl/media/padding.bin', head: randomBytes(4 << 20).toString('latin1') };

/**
 * `parts` are refused with `message`, and the read stopped within the first 2 MiB of the archive
 * (unzipper reads about 1 MiB ahead) although 4 MiB more follow.
 */
async function refused(parts: BombPart[], message: RegExp) {
  const zip = zipArchive([...parts, padding]);
  const { events, consumed } = await read(zip);
  expect(fileError(events)).toMatchObject({
    code: 'WORKBOOK_TOO_LARGE',
    message: expect.stringMatching(message),
  });
  expect(fileError(events).message).toMatch(/[Ss]ave the/);
  expect(consumed).toBeLessThan(2 << 20);
}

const row = (r: number, cells: string) => `<row r="${r}">${cells}</row>`;
const emptyCells = (r: number) =>
  'ABCDEFGHIJKLMN'
    .split('')
    .map((c) => `<c r="${c}${r}"/>`)
    .join('');
const smallSheet = (n: number): BombPart => ({
  ...worksheet({ piece: row(2, `<c r="A2" t="inlineStr"><is><t>${clickId}</t></is></c>`) }),
  path: `xl/worksheets/sheet${n}.xml`,
});
const bigSheet = (n: number, mib: number): BombPart => ({
  ...worksheet({ piece: repeatTo('<x a="1"/>'), times: mib }),
  path: `xl/worksheets/sheet${n}.xml`,
});

describe('XLSX limits: the shared strings', () => {
  it('refuses more strings than rows × 16, whatever their size', async () => {
    await refused(
      [...workbookParts, sharedStrings('x', 1024), worksheet()],
      /more than 32,000 different texts/,
    );
  });

  it('refuses more characters than rows × 512', async () => {
    await refused(
      [...workbookParts, sharedStrings('y'.repeat(4000), 1024), worksheet()],
      /texts come to more than 1,024,000 characters/,
    );
  });

  it('refuses a shared-strings part larger than rows × 768 bytes (one-letter rich-text runs)', async () => {
    const runs: BombPart = {
      path: 'xl/sharedStrings.xml',
      head: '<sst>',
      piece: `<si>${repeatTo('<r><rPr><b/></rPr><t>a</t></r>', 1 << 18)}</si>`,
      times: 4096,
      tail: '</sst>',
    };
    await refused(
      [...workbookParts, runs, worksheet()],
      /part xl\/sharedStrings\.xml unpacks to more than 2 MB/,
    );
  });

  it('reads rich text as its runs joined, without the phonetic guide, and whole characters across chunks', async () => {
    const name = 'Café Crème – 東京'.repeat(3);
    const zip = zipArchive([
      ...workbookParts,
      {
        path: 'xl/sharedStrings.xml',
        head: '<sst><si><t>Microsoft Click Id</t></si><si><t>Conversion Name</t></si><si><t>Conversion Time</t></si>',
        // Enough strings that a multi-byte character falls on the boundary of a 16 KiB chunk.
        piece: `<si><r><t>${name.slice(0, 7)}</t></r><r><rPr><b/></rPr><t>${name.slice(7)}</t></r><rPh sb="0" eb="1"><t>カフェ</t></rPh></si>`,
        times: 2000,
        tail: '</sst>',
      },
      {
        path: 'xl/worksheets/sheet1.xml',
        head: '<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>',
        piece: Array.from(
          { length: 500 },
          (_, i) =>
            `<row r="${i + 2}"><c r="A${i + 2}" t="inlineStr"><is><t>${clickId}</t></is></c><c r="B${i + 2}" t="s"><v>${3 + i * 3}</v></c><c r="C${i + 2}" t="inlineStr"><is><t>€ ${'ä'.repeat(i % 50)}</t></is></c></row>`,
        ).join(''),
        times: 1,
        tail: '</sheetData></worksheet>',
      },
    ]);
    const { events } = await read(zip);
    expect(events.filter((e) => e.type !== 'row')).toEqual([expect.objectContaining({ type: 'header' })]);
    const found = rows(events) as Extract<TemplateEvent, { type: 'row' }>[];
    expect(found).toHaveLength(500);
    for (const [i, r] of found.entries()) {
      expect(r.cells.conversionName).toBe(name);
      expect(r.cells.conversionTime).toBe(`€ ${'ä'.repeat(i % 50)}`.trim());
    }
  });
});

describe('XLSX limits: the bytes of the parts', () => {
  it('refuses a worksheet that unpacks to more than rows × 1,536 bytes', async () => {
    await refused(
      [...workbookParts, sharedStrings('x', 0), bigSheet(1, 1024)],
      /part xl\/worksheets\/sheet1\.xml unpacks to more than 3 MB/,
    );
  });

  it('refuses any other part that unpacks to more than 16 MiB', async () => {
    const styles: BombPart = {
      path: 'xl/styles.xml',
      head: '<styleSheet><cellXfs>',
      piece: repeatTo('<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'),
      times: 64,
      tail: '</cellXfs></styleSheet>',
    };
    await refused([...workbookParts, styles, worksheet()], /part xl\/styles\.xml unpacks to more than 17 MB/);
  });

  it('refuses a workbook whose parts together unpack to more than two worksheets', async () => {
    // Each sheet after the first is under the worksheet limit and is only inflated, never parsed.
    await refused(
      [
        ...workbookParts,
        sharedStrings('x', 0),
        smallSheet(1),
        ...Array.from({ length: 40 }, (_, i) => bigSheet(i + 2, 2)),
      ],
      /workbook unpacks to more than 23 MB/,
    );
  });

  it('refuses a workbook of more than 2,000 parts', async () => {
    const parts = Array.from(
      { length: 20_000 },
      (_, i): BombPart => ({ path: `xl/media/${i}.xml`, head: 'x' }),
    );
    await refused([...parts, ...workbookParts, worksheet()], /more than 2,000 parts/);
  });

  it('refuses a cell or tag longer than 256 KiB at once, before it is held in memory', async () => {
    const huge: BombPart = {
      path: 'xl/worksheets/sheet1.xml',
      head: '<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>',
      piece: 'x'.repeat(1 << 20),
      times: 1024,
      tail: '</t></is></c></row></sheetData></worksheet>',
    };
    await refused([...workbookParts, sharedStrings('x', 0), huge], /value or tag longer than 262,144 bytes/);
    for (const comment of ['<!--', '<![CDATA[']) {
      // A > inside a comment or CDATA section does not end it.
      await refused(
        [
          ...workbookParts,
          sharedStrings('x', 0),
          { ...huge, head: `<worksheet>${comment}`, piece: repeatTo('a>b<') },
        ],
        /value or tag longer than/,
      );
    }
  });
});

describe('XLSX limits: spool files', () => {
  const folder = mkdtempSync(join(tmpdir(), 'closeloop-spool-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('writes no more than rows × 1,536 bytes of worksheets to temporary files', async () => {
    // Worksheets before the shared strings are spooled to temporary files (exceljs, via the tmp package,
    // which asks os.tmpdir() each time). Each is under the worksheet limit; together they are not.
    const zip = zipArchive([
      ...workbookParts,
      bigSheet(1, 2),
      bigSheet(2, 2),
      bigSheet(3, 2),
      sharedStrings('x', 0),
    ]);
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = folder;
    let largest = 0;
    const watch = setInterval(() => {
      let bytes = 0;
      for (const name of readdirSync(folder)) {
        try {
          bytes += statSync(join(folder, name)).size;
        } catch {
          // Deleted meanwhile.
        }
      }
      largest = Math.max(largest, bytes);
    }, 2);
    try {
      const { events } = await read(zip);
      expect(fileError(events)).toMatchObject({
        code: 'WORKBOOK_TOO_LARGE',
        message: expect.stringMatching(/worksheets unpack to more than 3 MB/),
      });
    } finally {
      clearInterval(watch);
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThanOrEqual(limits.spoolBytes);
    await expect.poll(() => readdirSync(folder)).toEqual([]);
  });
});

describe('XLSX limits: cells', () => {
  it('refuses more than rows × 20 cells, even all empty', async () => {
    await refused(
      [
        ...workbookParts,
        sharedStrings('x', 0),
        worksheet({ piece: repeatTo(row(2, emptyCells(2))), times: 256 }),
      ],
      /more than 40,000 cells/,
    );
  });

  it('counts an empty row as a cell', async () => {
    await refused(
      [...workbookParts, sharedStrings('x', 0), worksheet({ piece: repeatTo('<row r="2"/>'), times: 256 })],
      /more than 40,000 cells/,
    );
  });

  it('reads a workbook of maxRows rows with every template column filled', async () => {
    const columns = [
      'Microsoft Click Id',
      'Conversion Name',
      'Conversion Time',
      'Conversion Value',
      'Conversion Currency',
      'Hashed Email Address',
      'Hashed Phone Number',
      'Email',
      'Phone',
      'Click Time',
    ];
    for (const useSharedStrings of [false, true]) {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (chunk: Buffer) => chunks.push(chunk));
      const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings });
      const ws = wb.addWorksheet('Conversions');
      ws.addRow(['Parameters:TimeZone=-0500']).commit();
      ws.addRow(columns).commit();
      for (let i = 0; i < maxRows; i++) {
        const hex = (n: number, width: number) => n.toString(16).padStart(width, 'f');
        ws.addRow([
          hex(i, 32),
          `Purchase of the premium plan, annual, online shop (EU) ${'x'.repeat(40)}`,
          '2017-06-02 13:00:00 EasternTimeUSCanada',
          999_999_999.125,
          'USD',
          hex(i * 7, 64),
          hex(i * 13, 64),
          `customer.name.${i}@${'example-company'.repeat(4)}.com`,
          `+1555${String(i).padStart(7, '0')}`,
          '2017-05-31T13:00:00Z',
        ]).commit();
      }
      ws.commit();
      await wb.commit();
      const { events } = await read(Buffer.concat(chunks), { maxRows });
      expect(events.filter((e) => e.type !== 'row' && e.type !== 'header')).toEqual([]);
      expect(rows(events)).toHaveLength(maxRows);
    }
  });
});

describe('XLSX limits: the issue 8 workbook', () => {
  const folder = mkdtempSync(join(tmpdir(), 'closeloop-bomb-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  const script = fileURLToPath(new URL('./read-process.ts', import.meta.url));

  it('refuses 5 GiB of shared strings in a 16 MB upload, at the default limits, in 256 MB of heap', async () => {
    // Before: heap out of memory. The reader runs in a process of its own whose heap is capped: holding
    // what the file unpacks to would kill it.
    const file = join(folder, 'strings.xlsx');
    writeFileSync(
      file,
      zipArchive([...workbookParts, sharedStrings('abcdefghijklmnopqrstuvwxyz', 5120), worksheet()]),
    );
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--max-old-space-size=256', script, file],
      {
        maxBuffer: 1 << 20,
      },
    );
    const result = JSON.parse(stdout) as { events: TemplateEvent[]; consumed: number; size: number };
    expect(result.events).toEqual([
      expect.objectContaining({
        type: 'fileError',
        code: 'WORKBOOK_TOO_LARGE',
        message: expect.stringContaining('more than 1,616,000 different texts'),
      }),
    ]);
    expect(result.size).toBeGreaterThan(15_000_000);
    expect(result.consumed).toBeLessThan(result.size / 4);
  });
});
