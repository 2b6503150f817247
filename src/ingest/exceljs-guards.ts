import { ReadStream, WriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';

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
 * its data to `spools`.
 */
export function watchUnzip(source: Readable, failure: Failure, spools: Spools): void {
  const pipe = source.pipe;
  source.pipe = function pipeAndWatch<T extends NodeJS.WritableStream>(
    destination: T,
    opts?: { end?: boolean },
  ) {
    // The one destination is exceljs's unzip stream; its data are the zip's entries.
    destination.on('error', (error: unknown) => failure.fail(error));
    (destination as unknown as NodeJS.EventEmitter).on('data', (entry: unknown) => spools.watch(entry));
    return pipe.call(this, destination, opts) as T;
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

/** The spool files of one read: the streams exceljs writes worksheets into, to be closed and deleted. */
export class Spools {
  private readonly writers: WriteStream[] = [];
  private released = false;

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
        else spools.writers.push(destination);
      }
      return piped;
    };
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
  // A spooled worksheet's temporary file is open for reading; close it. A worksheet still inside the
  // zip is drained by exceljs when we move on.
  if (sheet.iterator instanceof ReadStream) sheet.iterator.destroy();
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
