import ExcelJS from 'exceljs';
import { expect } from 'vitest';
import { readCsvTemplate } from '../../src/ingest/read-csv.ts';
import type { ReadOptions, TemplateEvent } from '../../src/ingest/template.ts';

export const conversionsHeader =
  'Microsoft Click Id,Conversion Name,Conversion Time,Conversion Value,Conversion Currency';
export const clickId = 'f894f652ea334e739002f7167ab8f8e3';

export async function collect(events: AsyncIterable<TemplateEvent>): Promise<TemplateEvent[]> {
  const out: TemplateEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/** Feeds `data` in chunks of `size` bytes (or sizes drawn from a function), as a network stream would. */
export async function* chunked(
  data: string | Uint8Array,
  size: number | (() => number) = 64 * 1024,
): AsyncGenerator<Uint8Array> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  for (let i = 0; i < bytes.length; ) {
    const n = Math.max(1, typeof size === 'number' ? size : size());
    yield bytes.subarray(i, i + n);
    i += n;
  }
}

export function readCsv(
  data: string | Uint8Array,
  options: Partial<ReadOptions> = {},
  size: number | (() => number) = 64 * 1024,
): Promise<TemplateEvent[]> {
  return collect(readCsvTemplate(chunked(data, size), { kind: 'conversions', ...options }));
}

export function rows(events: TemplateEvent[]) {
  return events.filter((e) => e.type === 'row' || e.type === 'rowError');
}

export function fileError(events: TemplateEvent[]) {
  const found = events.find((e) => e.type === 'fileError');
  expect(found, JSON.stringify(events)).toBeDefined();
  return found as Extract<TemplateEvent, { type: 'fileError' }>;
}

export function rowError(events: TemplateEvent[], row: number) {
  const found = events.find((e) => e.type === 'rowError' && e.row === row);
  expect(found, JSON.stringify(events)).toBeDefined();
  return found as Extract<TemplateEvent, { type: 'rowError' }>;
}

/**
 * The contract every reader keeps, whatever the file: at most one header and before any row, at most
 * one fileError and it is the last event, data events carry increasing row numbers after the header.
 */
export function expectWellFormed(events: TemplateEvent[]): void {
  let header: number | undefined;
  let last = 0;
  for (const [i, event] of events.entries()) {
    if (event.type === 'header') {
      expect(header, 'one header').toBeUndefined();
      expect(i, 'header first').toBe(0);
      header = event.header.headerRow;
      last = header;
    } else if (event.type === 'fileError') {
      expect(i, 'fileError last').toBe(events.length - 1);
    } else {
      expect(header, 'row after header').toBeDefined();
      expect(Number.isInteger(event.row)).toBe(true);
      expect(event.row, 'increasing row numbers').toBeGreaterThan(last);
      last = event.row;
    }
  }
}

/** Deterministic PRNG (mulberry32) so every fuzz case can be replayed from its seed. */
export function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}

/** An XLSX workbook built in memory; `build` fills it. */
export async function workbook(build: (wb: ExcelJS.Workbook) => void): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  build(wb);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

export function sheet(rows: unknown[][]): Promise<Buffer> {
  return workbook((wb) => {
    const ws = wb.addWorksheet('Conversions');
    for (const row of rows) ws.addRow(row);
  });
}
