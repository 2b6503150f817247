import { ReadStream, WriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable, TransformCallback } from 'node:stream';
import type { XlsxBudget } from './xlsx-limits.ts';
import { readSharedStrings } from './xlsx-shared-strings.ts';
import { XmlTokenScanner } from './xml-tokens.ts';

/**
 * Workarounds for exceljs's streaming WorkbookReader, used by read-xlsx.ts. Every one of them depends on
 * exceljs 4.4.0 internals that its typings do not describe (the package.json pins that exact version):
 * the unzip stream it pipes the file into, the zip entries it spools, its use of the `tmp` package, its
 * `model` property and its worksheet readers' `iterator`. Check each of them when upgrading exceljs.
 *
 * - An inflate or zip error while a worksheet is being read is emitted on its internal unzip stream,
 *   which nobody awaits: the read hangs forever (seen with randomly mutated files). We listen on that
 *   stream ourselves and race every step against the failure (`watchUnzip`, `Failure`, `step`).
 * - Excel writes the worksheets before sharedStrings.xml, so exceljs spools each worksheet to a
 *   temporary file (with the `tmp` package) and deletes it only when its iteration moves past that
 *   worksheet. When a read stops early or the file turns out broken, nobody does until the process
 *   exits (measured: 300 randomly damaged workbooks left 185 files in /tmp and 227 open descriptors).
 *   We note each spool file and the stream writing it, and close and delete them when the read ends
 *   (`Spools`, `skipSheet`).
 * - Without a readable xl/workbook.xml, exceljs threw after opening a spooled worksheet and left that
 *   file open. It gets an empty sheet list instead (`tolerateMissingWorkbookXml`).
 * - Nothing in exceljs bounds what a workbook unpacks to (issue 8: 5 GiB of shared strings in a 7 MB
 *   file ran the service out of heap). Every zip entry's inflated bytes are metered and scanned for
 *   over-long XML pieces as unzipper hands them to exceljs (`watchUnzip`), spool files are metered as
 *   they are written (`Spools`), and the shared strings are read by a bounded reader of our own
 *   (`boundSharedStrings`). The limits are in xlsx-limits.ts.
 * - exceljs decodes each chunk of XML on its own, so a UTF-8 character split between two chunks became
 *   two U+FFFD (a row with "é" at a 16 KB boundary was refused as not UTF-8). The worksheet read is
 *   decoded as one stream instead (`decodeAsOneStream`).
 */

/** exceljs's WorksheetReader as it is at run time (its typings omit these members). */
export interface SheetReader {
  id: number | string;
  name: string;
  iterator: unknown;
  parse(): AsyncGenerator<{ eventType: string; value: unknown }[]>;
}

/** exceljs's WorkbookReader as it is at run time (its typings omit these members). */
export interface WorkbookInternals {
  model?: { sheets?: { name: string; rId: string; state?: string }[] };
  workbookRels?: { Id: string; Target: string }[];
  properties?: { model?: { date1904?: boolean } };
}

/**
 * The first error of the workbook's streams. Only one step waits at a time, so one listener slot is
 * enough, and it is cleared after each step: racing every step against one long-lived promise would
 * keep every row ever read reachable from that promise's reaction list (measured: 2 KB per row).
 */
export class Failure {
  error: { value: unknown } | undefined;
  listener: ((error: unknown) => void) | undefined;

  fail(error: unknown): void {
    if (this.error) return;
    this.error = { value: error };
    this.listener?.(error);
  }
}

/**
 * Waits for `promise` unless the workbook fails first. A value that arrives after the failure goes to
 * `late` (a worksheet exceljs opened meanwhile must still be closed); a late rejection is ignored.
 */
export function step<T>(promise: Promise<T>, failure: Failure, late?: (value: T) => void): Promise<T> {
  const abandon = () => {
    promise.then(late, () => {});
  };
  if (failure.error) {
    abandon();
    return Promise.reject(failure.error.value);
  }
  return new Promise<T>((resolve, reject) => {
    failure.listener = (error) => {
      abandon();
      reject(error);
    };
    promise.then(
      (value) => {
        failure.listener = undefined;
        resolve(value);
      },
      (error: unknown) => {
        failure.listener = undefined;
        reject(error);
      },
    );
  });
}

/**
 * Sends the errors of the stream that `source` (the workbook's bytes) is piped into to `failure`, and
 * meters every zip entry it emits against `budget` before exceljs sees it.
 */
export function watchUnzip(source: Readable, failure: Failure, spools: Spools, budget: XlsxBudget): void {
  const pipe = source.pipe;
  source.pipe = function pipeAndWatch<T extends NodeJS.WritableStream>(
    destination: T,
    opts?: { end?: boolean },
  ) {
    // The one destination is exceljs's unzip stream; it pushes the zip's entries.
    destination.on('error', (error: unknown) => failure.fail(error));
    const unzip = destination as unknown as { push(chunk: unknown): boolean };
    const push = unzip.push;
    // Pushed before unzipper pipes the entry's inflater into it: not one byte goes unmetered.
    unzip.push = function pushMetered(chunk: unknown) {
      if (chunk !== null && typeof chunk === 'object') {
        meterEntry(chunk, budget, failure);
        spools.watch(chunk);
      }
      return push.call(this, chunk);
    };
    return pipe.call(this, destination, opts) as T;
  };
}

/** An unzipper entry as it is at run time: a PassThrough with the entry's path. */
interface ZipEntry extends NodeJS.EventEmitter {
  path?: unknown;
  destroy(error?: Error): void;
  _transform?: (chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback) => void;
}

/**
 * Counts the inflated bytes that pass through an entry and scans them for over-long XML pieces; past a
 * limit the entry fails, which stops its inflater, and the read fails with WorkbookTooLarge.
 */
function meterEntry(candidate: object, budget: XlsxBudget, failure: Failure): void {
  const entry = candidate as ZipEntry;
  const transform = entry._transform;
  if (typeof entry.path !== 'string' || typeof transform !== 'function') return;
  const path = entry.path;
  // From here on the entry's errors are the read's failure; without a listener one would crash the process.
  entry.on('error', (error: unknown) => failure.fail(error));
  try {
    budget.addEntry(path);
  } catch (error) {
    failure.fail(error);
    entry.destroy();
    return;
  }
  const tokens = new XmlTokenScanner(budget.limits.tokenBytes);
  let bytes = 0;
  entry._transform = function meteredTransform(chunk, encoding, callback) {
    bytes += chunk.length;
    try {
      budget.addBytes(path, chunk.length, bytes);
      if (!tokens.write(chunk)) throw budget.tokenTooLong(path);
    } catch (error) {
      failure.fail(error);
      callback(error as Error);
      return;
    }
    transform.call(this, chunk, encoding, callback);
  };
}

interface TmpModule {
  file: (...args: unknown[]) => unknown;
}

/**
 * Cleanup callbacks of the spool files exceljs created and has not deleted yet, by path. The `tmp`
 * module exceljs uses is wrapped once per process (a module loaded twice shares this map).
 */
const pendingSpools: Map<string, () => void> = (() => {
  const key = Symbol.for('closeloop.ingest.xlsxSpools');
  const shared = globalThis as { [key]?: Map<string, () => void> };
  const existing = shared[key];
  if (existing) return existing;
  const pending = new Map<string, () => void>();
  shared[key] = pending;
  const requireFromExceljs = createRequire(createRequire(import.meta.url).resolve('exceljs'));
  const tmp = requireFromExceljs('tmp') as TmpModule;
  const file = tmp.file;
  tmp.file = function fileNoted(this: unknown, ...args: unknown[]) {
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (error: unknown, path: unknown, fd: unknown, cleanup: unknown) => {
        if (typeof path !== 'string' || typeof cleanup !== 'function')
          return callback(error, path, fd, cleanup);
        const once = () => {
          pending.delete(path);
          cleanup();
        };
        pending.set(path, once);
        return callback(error, path, fd, once);
      };
    }
    return file.apply(this, args);
  };
  return pending;
})();

/**
 * The spool files of one read: the streams exceljs writes worksheets into, metered against the budget as
 * they are written, to be closed and deleted when the read ends.
 */
export class Spools {
  private readonly writers: WriteStream[] = [];
  private released = false;
  private readonly budget: XlsxBudget;
  private readonly failure: Failure;

  constructor(budget: XlsxBudget, failure: Failure) {
    this.budget = budget;
    this.failure = failure;
  }

  /** Notes where a worksheet entry of the zip is piped to (exceljs pipes it to a spool file). */
  watch(entry: unknown): void {
    const candidate = entry as {
      path?: unknown;
      pipe?: (destination: unknown, options?: unknown) => unknown;
    };
    // The test exceljs applies, unanchored as it is there.
    if (typeof candidate.path !== 'string' || !/xl\/worksheets\/sheet\d+[.]xml/.test(candidate.path)) return;
    const pipe = candidate.pipe;
    if (typeof pipe !== 'function') return;
    const spools = this;
    candidate.pipe = function pipeNoted(this: unknown, destination: unknown, options?: unknown) {
      const piped = pipe.call(this, destination, options);
      if (destination instanceof WriteStream) {
        // exceljs creates the spool file asynchronously: it may arrive after the read has ended.
        if (spools.released) Spools.close(destination);
        else {
          spools.writers.push(destination);
          spools.meter(destination);
        }
      }
      return piped;
    };
  }

  /** Past the limit a write is refused: the pipe waits for a drain that never comes, the read fails. */
  private meter(writer: WriteStream): void {
    const write = writer.write as (this: WriteStream, chunk: Buffer, ...rest: unknown[]) => boolean;
    const { budget, failure } = this;
    writer.write = function meteredWrite(this: WriteStream, chunk: Buffer, ...rest: unknown[]) {
      try {
        budget.addSpool(chunk.length);
      } catch (error) {
        failure.fail(error);
        return false;
      }
      return write.call(this, chunk, ...rest);
    } as WriteStream['write'];
  }

  release(): void {
    this.released = true;
    for (const writer of this.writers) Spools.close(writer);
    this.writers.length = 0;
  }

  private static close(writer: WriteStream): void {
    // A spool whose entry failed to inflate is never finished: its descriptor would stay open.
    if (!writer.writableFinished) writer.destroy();
    pendingSpools.get(String(writer.path))?.();
  }
}

/** Closes what exceljs holds open for a worksheet that will not be read. */
export function skipSheet(sheet: SheetReader): void {
  closeSpooled(sheet.iterator);
}

/**
 * A spooled worksheet's temporary file is open for reading; this closes it. A worksheet still inside the
 * zip is drained by exceljs when it moves on.
 */
export function closeSpooled(iterator: unknown): void {
  if (iterator instanceof ReadStream) iterator.destroy();
}

/**
 * Hands the worksheet's XML to exceljs as text decoded in one stream (see the list at the top). Returns
 * what it read before, which the caller closes with `closeSpooled` if the read is abandoned.
 */
export function decodeAsOneStream(sheet: SheetReader): unknown {
  const source = sheet.iterator as AsyncIterable<Uint8Array | string>;
  sheet.iterator = (async function* decoded() {
    const decoder = new TextDecoder();
    for await (const chunk of source) {
      // exceljs passes strings through as they are.
      yield typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    }
    const rest = decoder.decode();
    if (rest !== '') yield rest;
  })();
  return source;
}

/** exceljs's WorkbookReader's shared-strings step, replaced by the bounded reader of xlsx-shared-strings.ts. */
export function boundSharedStrings(reader: object, budget: XlsxBudget): void {
  const target = reader as {
    sharedStrings?: string[];
    _parseSharedStrings: (entry: AsyncIterable<Uint8Array>) => AsyncGenerator<never>;
  };
  // biome-ignore lint/correctness/useYield: exceljs delegates to this step with yield*; like its own in 'cache' mode, it yields nothing.
  target._parseSharedStrings = async function* sharedStringsBounded(entry) {
    target.sharedStrings = await readSharedStrings(entry, budget);
  };
}

/**
 * exceljs takes the sheet list from xl/workbook.xml; when that part is missing or unreadable it threw
 * a TypeError after opening a spooled worksheet, leaving that file open. An empty list instead lets
 * it go on, and the worksheet found is read as the first one.
 */
export function tolerateMissingWorkbookXml(reader: object): void {
  let model: WorkbookInternals['model'] = { sheets: [] };
  Object.defineProperty(reader, 'model', {
    get: () => model,
    set: (value: WorkbookInternals['model']) => {
      model = value ?? { sheets: [] };
    },
  });
}
