import { describe, expect, it } from 'vitest';
import { readCsvTemplate } from '../../src/ingest/read-csv.ts';
import { readTemplate } from '../../src/ingest/read-file.ts';
import { readXlsxTemplate } from '../../src/ingest/read-xlsx.ts';
import type { CanonicalColumn, TemplateEvent } from '../../src/ingest/template.ts';
import { chunked, collect, expectWellFormed, random, rows, sheet } from './helpers.ts';

/**
 * Seeded fuzzing of the readers. Every case is replayable: the failing seed is in the test name.
 * Three families: valid files in every shape Excel and hand editing produce (exact events expected),
 * valid files with one damaged row (that row alone is an error), and files damaged at random (only the
 * contract holds: no throw, one header first, increasing row numbers, a fileError last).
 */

type Rng = ReturnType<typeof random>;

const columns: CanonicalColumn[] = [
  'clickId',
  'conversionName',
  'conversionTime',
  'conversionValue',
  'conversionCurrency',
];
const titles = [
  'Microsoft Click Id',
  'Conversion Name',
  'Conversion Time',
  'Conversion Value',
  'Conversion Currency',
];

interface Shape {
  delimiter: ',' | ';' | '\t';
  /** Cells may hold delimiters, quotes and (unless false) line breaks, which need quoting. */
  quoting: boolean;
  lineBreaksInCells: boolean;
}

interface Generated {
  text: string;
  /** The text of each data row's line, by row number, for damaging one row. */
  lines: Map<number, string>;
  expected: TemplateEvent[];
}

const words = ['Purchase', 'Lead', 'Café', '日本', '🎉', 'a b', '10.5', 'USD', '06/01/2017 1:00:00 PM', 'x'];

function cellValue(rng: Rng, shape: Shape): string {
  if (rng.chance(0.15)) return '';
  let value = rng.pick(words);
  if (shape.quoting && rng.chance(0.3)) {
    const specials = [shape.delimiter, ',', ';', '"', ' '];
    if (shape.lineBreaksInCells) specials.push('\n', '\r\n');
    value = `${value}${rng.pick(specials)}${rng.pick(words)}`;
  }
  return rng.chance(0.1) ? `  ${value} ` : value;
}

function encodeCell(rng: Rng, value: string, shape: Shape): string {
  const needsQuotes = /["\r\n]/.test(value) || value.includes(shape.delimiter);
  // Never quote an empty value: `""` read from a stray quote is ambiguous by nature.
  if (value !== '' && (needsQuotes || (shape.quoting && rng.chance(0.2)))) {
    const quoted = `"${value.replaceAll('"', '""')}"`;
    return rng.chance(0.1) ? ` ${quoted}` : quoted;
  }
  return value;
}

function generate(rng: Rng, shape: Shape): Generated {
  const d = shape.delimiter;
  const out: string[] = [];
  const lines = new Map<number, string>();
  const expected: TemplateEvent[] = [];
  let row = 0;
  let lastEnding = '';
  const push = (line: string) => {
    // A blank line after a bare CR must not start with LF, or the two would read as one CRLF.
    const endings = line === '' && lastEnding === '\r' ? ['\r', '\r\n'] : ['\n', '\r\n', '\r'];
    lastEnding = rng.pick(endings);
    out.push(line, lastEnding);
    row++;
  };
  const blank = () => push(rng.pick(['', d.repeat(4), '  ']));
  let timeZone: string | undefined;
  if (rng.chance(0.5)) {
    timeZone = rng.pick(['-0500', 'EasternTimeUSCanada']);
    push(`Parameters:TimeZone=${timeZone}${d.repeat(rng.int(0, 4))}`);
  }
  if (rng.chance(0.2)) blank();
  push(titles.join(d));
  const header = {
    headerRow: row,
    kind: 'conversions' as const,
    columns: [...columns],
    names: [...titles],
    unknownColumns: [],
  };
  expected.push({ type: 'header', header: timeZone === undefined ? header : { ...header, timeZone } });
  const count = rng.int(1, 20);
  for (let i = 0; i < count; i++) {
    if (rng.chance(0.15)) blank();
    const values = columns.map(() => cellValue(rng, shape));
    if (values.every((v) => v.trim() === '')) values[0] = 'id';
    const line = values.map((v) => encodeCell(rng, v, shape)).join(d);
    const cells: Partial<Record<CanonicalColumn, string>> = {};
    for (const [c, v] of values.entries()) if (v.trim() !== '') cells[columns[c]!] = v.trim();
    lines.set(row + 1, line);
    expected.push({ type: 'row', row: row + 1, cells });
    push(line);
  }
  if (rng.chance(0.3)) blank();
  let text = out.join('');
  // Sometimes no line break at the very end, as many exporters write.
  if (rng.chance(0.3)) text = text.replace(/(\r\n|\n|\r)$/, '');
  return { text, lines, expected };
}

function encode(rng: Rng, text: string): Buffer {
  switch (rng.int(0, 3)) {
    case 0:
      return Buffer.from(text);
    case 1:
      return Buffer.from(`\ufeff${text}`);
    case 2:
      return Buffer.from(`\ufeff${text}`, 'utf16le');
    default:
      return Buffer.from(`\ufeff${text}`, 'utf16le').swap16();
  }
}

function read(bytes: Uint8Array, rng: Rng, options: { maxCellLength?: number } = {}) {
  const size = rng.pick([1, 2, 3, 5, 16, 100, 4096]);
  return collect(
    readCsvTemplate(
      chunked(bytes, () => rng.int(1, size)),
      { kind: 'conversions', ...options },
    ),
  );
}

const seeds = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

// FUZZ_SCALE=50 runs fifty times as many seeds, for a longer hunt than the suite's few seconds.
const scale = Number(process.env.FUZZ_SCALE ?? 1);

/** Runs every seed in one test (hundreds of tiny tests cost more in the runner than in the readers). */
async function eachSeed(from: number, count: number, run: (seed: number) => Promise<void>): Promise<void> {
  for (const seed of seeds(from * scale, count * scale)) {
    try {
      await run(seed);
    } catch (error) {
      if (error instanceof Error) error.message = `seed ${seed}: ${error.message}`;
      throw error;
    }
  }
}

describe('fuzz: valid files in every shape', () => {
  it('150 seeds', () =>
    eachSeed(1, 150, async (seed) => {
      const rng = random(seed);
      const shape: Shape = {
        delimiter: rng.pick([',', ';', '\t'] as const),
        quoting: rng.chance(0.7),
        lineBreaksInCells: rng.chance(0.5),
      };
      const { text, expected } = generate(rng, shape);
      const events = await read(encode(rng, text), rng);
      expect(events).toEqual(expected);
    }));
});

type Damage = {
  name: string;
  code: 'MALFORMED_ROW' | 'CELL_TOO_LARGE';
  apply: (line: string, rng: Rng) => string;
};

const damages: Damage[] = [
  { name: 'NUL byte', code: 'MALFORMED_ROW', apply: (line, rng) => insertAt(line, rng, '\u0000') },
  // Marks where a byte that is not UTF-8 goes; see withInvalidByte.
  { name: 'invalid UTF-8', code: 'MALFORMED_ROW', apply: (line, rng) => insertAt(line, rng, invalidByte) },
  { name: 'extra cells', code: 'MALFORMED_ROW', apply: (line) => `${line},,surplus` },
  {
    name: 'huge cell',
    code: 'CELL_TOO_LARGE',
    apply: (_, rng) => `${'y'.repeat(rng.int(61, 3000))},Purchase,t`,
  },
  { name: 'stray quote', code: 'MALFORMED_ROW', apply: (line, rng) => insertAt(line, rng, '"') },
];

const invalidByte = '\ue000';

function withInvalidByte(text: string): Buffer {
  const [before, after] = text.split(invalidByte);
  if (after === undefined) return Buffer.from(text);
  return Buffer.concat([Buffer.from(before!), Buffer.from([0xff]), Buffer.from(after)]);
}

function insertAt(line: string, rng: Rng, text: string): string {
  const at = rng.int(0, line.length);
  return line.slice(0, at) + text + line.slice(at);
}

describe('fuzz: one damaged row, the others read exactly', () => {
  it('200 seeds', () =>
    eachSeed(1000, 200, async (seed) => {
      const rng = random(seed);
      const shape: Shape = { delimiter: ',', quoting: rng.chance(0.6), lineBreaksInCells: false };
      const { text, lines, expected } = generate(rng, shape);
      const damage = rng.pick(damages);
      const [row, line] = rng.pick([...lines.entries()]);
      const damaged = damage.apply(line, rng);
      // The line may occur in an earlier row too; damage the one at its row's place.
      const offset = nthLineOffset(text, row);
      const bytes = withInvalidByte(text.slice(0, offset) + damaged + text.slice(offset + line.length));
      const events = await read(bytes, rng, { maxCellLength: 60 });
      expectWellFormed(events);
      const want = expected.map((e) =>
        e.type === 'row' && e.row === row ? { type: 'rowError', row, code: damage.code } : e,
      );
      expect(events.length, `${damage.name} in row ${row} of ${JSON.stringify(bytes.toString())}`).toBe(
        want.length,
      );
      for (const [i, event] of events.entries()) {
        if (event.type === 'rowError') expect(event).toMatchObject(want[i]!);
        else expect(event).toEqual(want[i]);
      }
    }));
});

/** Offset of the start of 1-based record `row`, for generated files whose cells hold no line breaks. */
function nthLineOffset(text: string, row: number): number {
  let offset = 0;
  for (let r = 1; r < row; r++) {
    const m = /\r\n|\n|\r/.exec(text.slice(offset));
    offset += m!.index + m![0].length;
  }
  return offset;
}

describe('fuzz: files damaged at random keep the contract', () => {
  it('250 seeds', () =>
    eachSeed(5000, 250, async (seed) => {
      const rng = random(seed);
      const shape: Shape = {
        delimiter: rng.pick([',', ';'] as const),
        quoting: true,
        lineBreaksInCells: true,
      };
      const { text } = generate(rng, shape);
      let bytes: Buffer = encode(rng, text);
      switch (rng.int(0, 4)) {
        case 0: {
          // Random byte mutations: overwrite, insert, delete.
          const mutable = [...bytes];
          for (let n = rng.int(1, 12); n > 0; n--) {
            const at = rng.int(0, mutable.length);
            const byte = rng.pick([0x22, 0x0a, 0x0d, 0x00, 0x2c, 0x3b, 0xff, 0xc3, rng.int(0, 255)]);
            const op = rng.int(0, 2);
            if (op === 0) mutable[at] = byte;
            else if (op === 1) mutable.splice(at, 0, byte);
            else mutable.splice(at, 1);
          }
          bytes = Buffer.from(mutable);
          break;
        }
        case 1:
          bytes = bytes.subarray(0, rng.int(0, bytes.length));
          break;
        case 2:
          bytes = Buffer.from(Array.from({ length: rng.int(0, 3000) }, () => rng.int(0, 255)));
          break;
        case 3:
          // A valid header, then garbage.
          bytes = Buffer.concat([
            Buffer.from(`${titles.join(',')}\n`),
            Buffer.from(Array.from({ length: rng.int(0, 3000) }, () => rng.int(0, 255))),
          ]);
          break;
        default: {
          // A huge cell somewhere, quoted or not, closed or not.
          const at = rng.int(0, bytes.length);
          const quote = rng.pick(['', '"']);
          const huge = `${quote}${'z'.repeat(rng.int(100, 20_000))}${rng.chance(0.5) ? quote : ''}`;
          bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(huge), bytes.subarray(at)]);
        }
      }
      const events = await read(bytes, rng, { maxCellLength: rng.pick([64, 4096]) });
      expectWellFormed(events);
      const breaks = bytes.toString('latin1').match(/\r\n|\n|\r/g)?.length ?? 0;
      for (const event of rows(events)) expect(event.row).toBeLessThanOrEqual(breaks + 1);
      // The dispatcher must hold the same contract, including for what it refuses outright.
      expectWellFormed(await collect(readTemplate(chunked(bytes, 512), { kind: 'conversions' })));
    }));
});

describe('fuzz: damaged XLSX files', () => {
  it('20 seeds never throw nor hang', async () => {
    const valid = await sheet([
      ['Parameters:TimeZone=-0500'],
      titles,
      ...Array.from({ length: 40 }, (_, i) => [
        'f894f652ea334e739002f7167ab8f8e3',
        `Goal ${i}`,
        new Date(Date.UTC(2017, 5, 1)),
        i,
      ]),
    ]);
    await eachSeed(9000, 20, async (seed) => {
      const rng = random(seed);
      let bytes = Buffer.from(valid);
      if (rng.chance(0.3)) bytes = bytes.subarray(0, rng.int(0, bytes.length));
      else for (let n = rng.int(1, 8); n > 0; n--) bytes[rng.int(0, bytes.length - 1)] = rng.int(0, 255);
      expectWellFormed(
        await withTimeout(collect(readXlsxTemplate(chunked(bytes, 1024), { kind: 'conversions' }))),
      );
    });
  });
});

async function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the reader hung')), 5000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
