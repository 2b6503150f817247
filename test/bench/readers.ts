/**
 * Speed and memory of the template readers on generated files:
 *
 *   npm run bench:readers --            # every case, each in a fresh process
 *   npm run bench:readers -- csv 100000 # one case
 *
 * Cases: csv (N rows), xlsx (N rows, exceljs streaming writer, inline strings), xlsx-sst (same with
 * shared strings, which Excel always writes), xlsx-wide and xlsx-wide-sst (all 14 template columns
 * filled with long values: the largest legitimate workbook, which src/ingest/xlsx-limits.ts is derived
 * from), xlsx-bomb (a workbook of N MiB of shared strings, 5120: the 5 GiB of issue 8, and
 * xlsx-cells, N MiB of empty cells: both refused as WORKBOOK_TOO_LARGE), cell (a CSV whose one cell is
 * N MiB). Files are written
 * to the OS temp folder once and reused. Peak RSS is the process's maxRSS; "base" is the RSS after
 * loading the modules, before reading.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { readCsvTemplate } from '../../src/ingest/read-csv.ts';
import { readXlsxTemplate } from '../../src/ingest/read-xlsx.ts';
import type { TemplateEvent } from '../../src/ingest/template.ts';
import { repeatTo, sharedStrings, workbookParts, worksheet, zipArchive } from '../ingest/xlsx-bombs.ts';

const header = 'Microsoft Click Id,Conversion Name,Conversion Time,Conversion Value,Conversion Currency';
const clickId = (i: number) => i.toString(16).padStart(32, 'f');

async function csvFile(rows: number): Promise<string> {
  const path = join(tmpdir(), `closeloop-bench-${rows}.csv`);
  if (existsSync(path)) return path;
  const out = createWriteStream(path);
  out.write(`Parameters:TimeZone=-0500\r\n${header}\r\n`);
  for (let i = 0; i < rows; i++) {
    const line = `${clickId(i)},"Purchase, online",06/01/2017 1:${String(i % 60).padStart(2, '0')}:00 PM,${(i % 1000) + 0.5},USD\r\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await finished(out);
  return path;
}

async function xlsxFile(rows: number, useSharedStrings: boolean): Promise<string> {
  const path = join(tmpdir(), `closeloop-bench-${rows}${useSharedStrings ? '-sst' : ''}.xlsx`);
  if (existsSync(path)) return path;
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useStyles: true, useSharedStrings });
  const ws = wb.addWorksheet('Conversions');
  ws.addRow(['Parameters:TimeZone=-0500']).commit();
  ws.addRow(header.split(',')).commit();
  for (let i = 0; i < rows; i++) {
    const time = new Date(Date.UTC(2017, 5, 1, 13, i % 60, 0));
    const row = ws.addRow([clickId(i), 'Purchase', time, (i % 1000) + 0.5, 'USD']);
    row.getCell(3).numFmt = 'yyyy-mm-dd hh:mm:ss';
    row.commit();
  }
  ws.commit();
  await wb.commit();
  return path;
}

const wideHeader = [
  'Microsoft Click Id',
  'Conversion Name',
  'Conversion Time',
  'Adjustment Value',
  'Adjustment Currency',
  'Adjustment Type',
  'Adjustment Time',
  'Hashed Email Address',
  'Hashed Phone Number',
  'Email',
  'Phone',
  'Click Time',
  'Conversion Value',
  'Conversion Currency',
];

/** Every template column filled, with long values: a distinct click ID, hashes, e-mail and phone per row. */
async function wideXlsxFile(rows: number, useSharedStrings: boolean): Promise<string> {
  const path = join(tmpdir(), `closeloop-bench-wide-${rows}${useSharedStrings ? '-sst' : ''}.xlsx`);
  if (existsSync(path)) return path;
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useStyles: true, useSharedStrings });
  const ws = wb.addWorksheet('Adjustments');
  ws.addRow(['Parameters:TimeZone=-0500']).commit();
  ws.addRow(wideHeader).commit();
  const hex = (n: number, width: number) => n.toString(16).padStart(width, 'f');
  for (let i = 0; i < rows; i++) {
    const row = ws.addRow([
      hex(i, 32),
      `Purchase of the premium plan, annual, online shop (EU) ${i % 7}`,
      new Date(Date.UTC(2017, 5, 1, 13, i % 60, 0)),
      (i % 1000) + 0.5,
      'USD',
      'Restate',
      '2017-06-02 13:00:00 EasternTimeUSCanada',
      hex(i * 7, 64),
      hex(i * 13, 64),
      `customer.name${i}@example-company.com`,
      `+1555${String(i).padStart(7, '0')}`,
      '2017-05-31T13:00:00Z',
      123_456.789,
      'EUR',
    ]);
    row.getCell(3).numFmt = 'yyyy-mm-dd hh:mm:ss';
    row.commit();
  }
  ws.commit();
  await wb.commit();
  return path;
}

/** A workbook that unpacks to `mib` MiB of shared strings, or of empty cells (built in memory, tiny). */
function bombFile(kind: 'xlsx-bomb' | 'xlsx-cells', mib: number): string {
  const path = join(tmpdir(), `closeloop-bench-${kind}-${mib}.xlsx`);
  if (existsSync(path)) return path;
  const cells = `<row r="2">${'ABCDEFGHIJKLMN'
    .split('')
    .map((c) => `<c r="${c}2"/>`)
    .join('')}</row>`;
  const parts =
    kind === 'xlsx-bomb'
      ? [...workbookParts, sharedStrings('abcdefghijklmnopqrstuvwxyz', mib), worksheet()]
      : [...workbookParts, sharedStrings('x', 0), worksheet({ piece: repeatTo(cells), times: mib })];
  writeFileSync(path, zipArchive(parts));
  return path;
}

async function bigCellFile(mib: number): Promise<string> {
  const path = join(tmpdir(), `closeloop-bench-cell-${mib}.csv`);
  if (existsSync(path)) return path;
  const out = createWriteStream(path);
  out.write(`${header}\n${clickId(1)},`);
  const block = Buffer.alloc(1 << 20, 'x');
  for (let i = 0; i < mib; i++)
    if (!out.write(block)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  out.write(`,06/01/2017 1:00:00 PM\n${clickId(2)},Purchase,06/01/2017 1:00:00 PM\n`);
  out.end();
  await finished(out);
  return path;
}

async function measure(name: string, path: string, events: AsyncIterable<TemplateEvent>): Promise<void> {
  const base = process.memoryUsage().rss;
  const start = performance.now();
  let rows = 0;
  let errors = 0;
  for await (const event of events) {
    if (event.type === 'row') rows++;
    else if (event.type !== 'header') errors++;
  }
  const ms = performance.now() - start;
  const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;
  console.log(
    `${name.padEnd(26)} ${mib(statSync(path).size).padStart(8)} file  ${String(rows).padStart(7)} rows ${String(errors).padStart(3)} errors  ${ms.toFixed(0).padStart(6)} ms  ${String(Math.round((rows + errors) / (ms / 1000))).padStart(7)} rows/s  base ${mib(base)}  peak RSS ${mib(process.resourceUsage().maxRSS * 1024)}`,
  );
}

async function run(kind: string, size: number): Promise<void> {
  const options = { kind: 'conversions' as const, maxRows: 10_000_000 };
  if (kind === 'csv') {
    const path = await csvFile(size);
    await measure(`csv ${size} rows`, path, readCsvTemplate(createReadStream(path), options));
  } else if (kind === 'xlsx' || kind === 'xlsx-sst') {
    const path = await xlsxFile(size, kind === 'xlsx-sst');
    await measure(`${kind} ${size} rows`, path, readXlsxTemplate(createReadStream(path), options));
  } else if (kind === 'xlsx-wide' || kind === 'xlsx-wide-sst') {
    const path = await wideXlsxFile(size, kind === 'xlsx-wide-sst');
    // At Microsoft's limit of 100,000 rows, as an upload is read: with the limits derived from it.
    const wide = { kind: 'adjustments' as const, maxRows: Math.max(size, 100_000) };
    await measure(`${kind} ${size} rows`, path, readXlsxTemplate(createReadStream(path), wide));
  } else if (kind === 'xlsx-bomb' || kind === 'xlsx-cells') {
    const path = bombFile(kind, size);
    await measure(
      `${kind} ${size} MiB`,
      path,
      readXlsxTemplate(createReadStream(path), { kind: 'conversions' }),
    );
  } else if (kind === 'cell') {
    const path = await bigCellFile(size);
    await measure(`csv, one ${size} MiB cell`, path, readCsvTemplate(createReadStream(path), options));
  } else {
    throw new TypeError(
      `Unknown case ${JSON.stringify(kind)}: expected csv, xlsx, xlsx-sst, xlsx-wide, xlsx-wide-sst, xlsx-bomb, xlsx-cells or cell.`,
    );
  }
}

async function prepare(kind: string, size: number): Promise<void> {
  if (kind === 'csv') await csvFile(size);
  else if (kind === 'cell') await bigCellFile(size);
  else if (kind.startsWith('xlsx-wide')) await wideXlsxFile(size, kind === 'xlsx-wide-sst');
  else if (kind === 'xlsx-bomb' || kind === 'xlsx-cells') bombFile(kind, size);
  else await xlsxFile(size, kind === 'xlsx-sst');
}

const [kind, ...rest] = process.argv.slice(2);
if (kind === 'prepare') {
  await prepare(rest[0]!, Number(rest[1]));
} else if (kind) {
  await run(kind, Number(rest[0] ?? 100_000));
} else {
  const self = fileURLToPath(import.meta.url);
  const cases = [
    ['csv', '100000'],
    ['csv', '1000000'],
    ['cell', '50'],
    ['xlsx', '100000'],
    ['xlsx', '300000'],
    ['xlsx-sst', '100000'],
    ['xlsx-sst', '300000'],
    ['xlsx-wide', '100000'],
    ['xlsx-wide-sst', '100000'],
    ['xlsx-bomb', '5120'],
    ['xlsx-cells', '2000'],
  ];
  // Generate first, in separate processes, so the measured runs only read.
  for (const [k, n] of cases) execFileSync(process.execPath, [self, 'prepare', k!, n!], { stdio: 'inherit' });
  for (const [k, n] of cases) execFileSync(process.execPath, [self, k!, n!], { stdio: 'inherit' });
}
