import { type RawRecord, TemplateAssembler } from './assembler.ts';
import { CsvTokenizer } from './csv-tokenizer.ts';
import { defaultMaxCellLength, type ReadOptions, type TemplateEvent } from './template.ts';

/**
 * Streaming reader for the CSV template: decodes the bytes, cuts the text into records with
 * CsvTokenizer (csv-tokenizer.ts says why not csv-parse) and hands them to the TemplateAssembler.
 */

/**
 * Reads a CSV template (UTF-8 with or without BOM, or UTF-16 with BOM as Excel's "Unicode text").
 * Everything wrong with the file's content is an event; errors thrown by `input` itself (a dropped
 * connection) are rethrown unchanged so the caller can retry.
 */
export async function* readCsvTemplate(
  input: AsyncIterable<Uint8Array | string>,
  options: ReadOptions,
): AsyncGenerator<TemplateEvent> {
  const assembler = new TemplateAssembler(options);
  const tokenizer = new CsvTokenizer(options.maxCellLength ?? defaultMaxCellLength);
  const decoder = new CsvDecoder();
  const records: RawRecord[] = [];
  for await (const chunk of input) {
    // A caller may hand over the whole file as one chunk; slices keep the records held at once small.
    for (let at = 0; at < chunk.length; at += sliceSize) {
      const slice =
        chunk.length <= sliceSize
          ? chunk
          : typeof chunk === 'string'
            ? chunk.slice(at, at + sliceSize)
            : chunk.subarray(at, at + sliceSize);
      tokenizer.write(decoder.decode(slice), records);
      for (const record of records) {
        const event = assembler.push(record);
        if (event) yield event;
        // Stop reading once the upload is refused (TOO_MANY_ROWS, a bad header): nothing after matters.
        if (assembler.done) return;
      }
      records.length = 0;
    }
  }
  tokenizer.write(decoder.flush(), records);
  tokenizer.end(records);
  for (const record of records) {
    const event = assembler.push(record);
    if (event) yield event;
    if (assembler.done) return;
  }
  const last = assembler.end();
  if (last) yield last;
}

const sliceSize = 64 * 1024;

/** Detects the encoding from the first bytes and decodes chunks to text, keeping split characters. */
class CsvDecoder {
  private decoder: TextDecoder | undefined;
  private head: Uint8Array | undefined;
  private first = true;

  decode(chunk: Uint8Array | string): string {
    if (typeof chunk === 'string') {
      const text = this.first && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk;
      if (chunk !== '') this.first = false;
      return text;
    }
    this.first = false;
    if (this.decoder) return this.decoder.decode(chunk, { stream: true });
    // Four bytes are enough to tell UTF-8, UTF-16 LE and UTF-16 BE apart.
    const bytes = this.head ? concat(this.head, chunk) : chunk;
    if (bytes.length < 4) {
      this.head = bytes;
      return '';
    }
    this.head = undefined;
    this.decoder = new TextDecoder(sniffEncoding(bytes));
    return this.decoder.decode(bytes, { stream: true });
  }

  flush(): string {
    if (!this.decoder && this.head) {
      this.decoder = new TextDecoder(sniffEncoding(this.head));
      return this.decoder.decode(this.head);
    }
    return this.decoder ? this.decoder.decode() : '';
  }
}

function sniffEncoding(bytes: Uint8Array): 'utf-8' | 'utf-16le' | 'utf-16be' {
  const [a = 1, b = 1, c = 1, d = 1] = bytes;
  if (a === 0xff && b === 0xfe) return 'utf-16le';
  if (a === 0xfe && b === 0xff) return 'utf-16be';
  // Without a BOM, ASCII text in UTF-16 shows as every other byte being zero.
  if (a !== 0 && b === 0 && c !== 0 && d === 0) return 'utf-16le';
  if (a === 0 && b !== 0 && c === 0 && d !== 0) return 'utf-16be';
  // TextDecoder drops a UTF-8 BOM itself.
  return 'utf-8';
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
