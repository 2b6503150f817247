import { readCsvTemplate } from './read-csv.ts';
import { readXlsxTemplate } from './read-xlsx.ts';
import type { ReadOptions, TemplateEvent } from './template.ts';

export type TemplateFormat = 'csv' | 'xlsx';

/** How many leading bytes are looked at to tell the format. */
const sniffBytes = 512;

/**
 * Reads a template upload of either format. The format is told by the first bytes: an XLSX file is a
 * ZIP archive, everything else is read as CSV text. Files that are neither (a legacy .xls, a PDF, a web
 * page, or something named .xlsx that is no ZIP archive) are one UNREADABLE_FILE event saying how to
 * save them.
 */
export function readTemplate(
  input: NodeJS.ReadableStream | AsyncIterable<Uint8Array | string>,
  options: ReadOptions & { filename?: string },
): AsyncGenerator<TemplateEvent> {
  return readSniffed(input as AsyncIterable<Uint8Array | string>, options);
}

async function* readSniffed(
  input: AsyncIterable<Uint8Array | string>,
  options: ReadOptions & { filename?: string },
): AsyncGenerator<TemplateEvent> {
  const iterator = input[Symbol.asyncIterator]();
  const head: (Uint8Array | string)[] = [];
  let size = 0;
  let ended = false;
  // Until the input is handed to a format reader, closing it early is ours to do.
  let handedOver = false;
  try {
    while (size < sniffBytes) {
      const next = await iterator.next();
      if (next.done) {
        ended = true;
        break;
      }
      head.push(next.value);
      size += typeof next.value === 'string' ? Buffer.byteLength(next.value) : next.value.byteLength;
    }
    const format = sniffFormat(leadingBytes(head), options.filename);
    if (typeof format !== 'string') {
      yield { type: 'fileError', code: 'UNREADABLE_FILE', message: format.message };
      return;
    }
    const replay = replayed(head, ended ? undefined : iterator);
    handedOver = true;
    const { filename: _, ...readOptions } = options;
    if (format === 'xlsx') yield* readXlsxTemplate(asBytes(replay), readOptions);
    else yield* readCsvTemplate(replay, readOptions);
  } finally {
    // The format reader closes the input when it stops early; here only if it never started.
    if (!ended && !handedOver) await iterator.return?.();
  }
}

async function* replayed(
  head: (Uint8Array | string)[],
  rest: AsyncIterator<Uint8Array | string> | undefined,
): AsyncGenerator<Uint8Array | string> {
  let done = rest === undefined;
  try {
    yield* head;
    while (rest && !done) {
      const next = await rest.next();
      if (next.done) done = true;
      else yield next.value;
    }
  } finally {
    if (rest && !done) await rest.return?.();
  }
}

async function* asBytes(input: AsyncIterable<Uint8Array | string>): AsyncGenerator<Uint8Array> {
  for await (const chunk of input) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

function leadingBytes(head: (Uint8Array | string)[]): Uint8Array {
  const chunks = head.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
  return Buffer.concat(chunks).subarray(0, sniffBytes);
}

const saveAs =
  'Open it in your spreadsheet program and save it as an Excel workbook (.xlsx) or as CSV UTF-8.';

/** Tells the format from the first bytes and the file name, or why the file cannot be a template. */
export function sniffFormat(bytes: Uint8Array, filename?: string): TemplateFormat | { message: string } {
  const starts = (...signature: number[]) => signature.every((byte, i) => bytes[i] === byte);
  if (starts(0x50, 0x4b, 0x03, 0x04) || starts(0x50, 0x4b, 0x05, 0x06)) {
    // OpenDocument stores its media type uncompressed as the first entry of the archive.
    if (latin1(bytes).includes('application/vnd.oasis.opendocument')) {
      return {
        message: `The file is an OpenDocument spreadsheet (.ods), which closeloop cannot read. ${saveAs}`,
      };
    }
    return 'xlsx';
  }
  if (starts(0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1)) {
    return {
      message: `The file is an Excel 97-2003 workbook (.xls) or a password-protected workbook, which closeloop cannot read. Remove any password, then save it as an Excel workbook (.xlsx) or as CSV UTF-8.`,
    };
  }
  if (filename && /\.xls[xm]$/i.test(filename.trim())) {
    // Named like a workbook, but every workbook is a ZIP archive and this is not one.
    return {
      message: `The file is named ${filename.trim().slice(-5)} but is not an Excel workbook (it may have been renamed, or cut short). ${saveAs}`,
    };
  }
  const signatures: [number[], string][] = [
    [[0x25, 0x50, 0x44, 0x46], 'a PDF document'],
    [[0x1f, 0x8b], 'a gzip archive'],
    [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
    [[0xff, 0xd8, 0xff], 'a JPEG image'],
    [[0x52, 0x61, 0x72, 0x21], 'a RAR archive'],
    [[0x37, 0x7a, 0xbc, 0xaf], 'a 7-Zip archive'],
  ];
  for (const [signature, what] of signatures) {
    if (starts(...signature)) return { message: `The file is ${what}, not a spreadsheet. ${saveAs}` };
  }
  const text = latin1(bytes)
    .replace(/^(\xef\xbb\xbf|\xff\xfe|\xfe\xff)/, '')
    .replace(/\x00/g, '');
  if (/^\s*<(\?xml|!doctype|html|table)/i.test(text)) {
    return {
      message: `The file is a web page or an XML file (some systems export those with an .xls name), not CSV or XLSX. ${saveAs}`,
    };
  }
  if (looksBinary(bytes)) return { message: `The file is not a spreadsheet or CSV text file. ${saveAs}` };
  return 'csv';
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * Text has almost no control bytes; UTF-16 has a zero in every other byte, so it is recognised first.
 * A stray NUL in a text file is left to the CSV reader, which rejects just the rows it is in.
 */
function looksBinary(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) return false;
  let evenZeros = 0;
  let oddZeros = 0;
  let control = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0) {
      if (i % 2 === 0) evenZeros++;
      else oddZeros++;
    } else if (byte < 0x09 || (byte > 0x0d && byte < 0x20 && byte !== 0x1b)) {
      control++;
    }
  }
  const half = bytes.length / 2;
  // UTF-16 without BOM: ASCII text leaves one half of the bytes zero and the other half not.
  if (
    (oddZeros > half * 0.6 && evenZeros < half * 0.1) ||
    (evenZeros > half * 0.6 && oddZeros < half * 0.1)
  ) {
    return false;
  }
  return (evenZeros + oddZeros + control) / bytes.length > 0.1;
}
