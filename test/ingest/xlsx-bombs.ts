import { constants, deflateRawSync } from 'node:zlib';

/**
 * Hostile workbooks, built in memory in milliseconds: a ZIP archive whose parts inflate to gigabytes.
 * A part's body is a piece of XML repeated many times. The piece is deflated once with a full flush
 * (byte-aligned, history reset), so the compressed piece can be repeated verbatim: 1 MiB of XML costs
 * about 1 KB of archive, and 5 GiB of shared strings fit in a few megabytes, like the files that took
 * the service down (issue 8). No big fixture is committed; every test builds the one it needs.
 */

export interface BombPart {
  path: string;
  /** XML before the repeated piece. */
  head?: string;
  /** XML repeated `times` times; pieces of about 1 MiB compress best. */
  piece?: string;
  times?: number;
  /** XML after the repeated piece. */
  tail?: string;
}

const flushed = (text: string) => deflateRawSync(Buffer.from(text), { finishFlush: constants.Z_FULL_FLUSH });

/** A raw deflate stream of head + piece × times + tail, and its inflated size. */
function deflated(part: BombPart): { data: Buffer; size: number } {
  const pieces: Buffer[] = [flushed(part.head ?? '')];
  const piece = part.piece && part.times ? flushed(part.piece) : undefined;
  for (let i = 0; piece && i < part.times!; i++) pieces.push(piece);
  // The last block, with the final bit set.
  pieces.push(deflateRawSync(Buffer.from(part.tail ?? '')));
  const size =
    Buffer.byteLength(part.head ?? '') +
    Buffer.byteLength(part.piece ?? '') * (part.times ?? 0) +
    Buffer.byteLength(part.tail ?? '');
  return { data: Buffer.concat(pieces), size };
}

/**
 * A ZIP archive of deflated parts, in the given order. The CRC fields are zero (readers that stream do
 * not check them; exceljs's does not) and a size past 4 GiB is written modulo 2^32 as a lying archive
 * would.
 */
export function zipArchive(parts: BombPart[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const part of parts) {
    const name = Buffer.from(part.path);
    const { data, size } = deflated(part);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size % 2 ** 32, 22);
    local.writeUInt16LE(name.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(8, 10);
    entry.writeUInt32LE(data.length, 20);
    entry.writeUInt32LE(size % 2 ** 32, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    central.push(entry, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
const header =
  '<row r="1"><c r="A1" t="inlineStr"><is><t>Microsoft Click Id</t></is></c><c r="B1" t="inlineStr"><is><t>Conversion Name</t></is></c><c r="C1" t="inlineStr"><is><t>Conversion Time</t></is></c></row>';

/** The parts every workbook needs so exceljs finds its first sheet. */
export const workbookParts: BombPart[] = [
  {
    path: 'xl/_rels/workbook.xml.rels',
    head: '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
  },
  {
    path: 'xl/workbook.xml',
    head: `<?xml version="1.0"?><workbook ${ns} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Conversions" sheetId="1" r:id="rId1"/></sheets></workbook>`,
  },
];

/** A first worksheet: the template's header row, then `rows` (XML of <row> elements), repeated. */
export function worksheet(body: { piece?: string; times?: number; tail?: string } = {}): BombPart {
  return {
    path: 'xl/worksheets/sheet1.xml',
    head: `<?xml version="1.0"?><worksheet ${ns}><sheetData>${header}`,
    ...(body.piece ? { piece: body.piece, times: body.times ?? 1 } : {}),
    tail: `${body.tail ?? ''}</sheetData></worksheet>`,
  };
}

/** `text` repeated until it is about `bytes` long (whole repetitions only). */
export function repeatTo(text: string, bytes = 1 << 20): string {
  return text.repeat(Math.max(1, Math.floor(bytes / Buffer.byteLength(text))));
}

/** A shared-strings part of `count` strings of `text`, as (1 MiB pieces) × times. */
export function sharedStrings(text: string, mib: number): BombPart {
  return {
    path: 'xl/sharedStrings.xml',
    head: `<?xml version="1.0"?><sst ${ns}>`,
    piece: repeatTo(`<si><t>${text}</t></si>`),
    times: mib,
    tail: '</sst>',
  };
}
