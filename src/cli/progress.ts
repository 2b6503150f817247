import { plural } from '../domain/plural.ts';

/**
 * A progress line on a terminal (stderr), redrawn at most 10 times a second. When stderr is not a
 * terminal it is silent (logs and pipes stay clean) unless `force` is set: then it prints a plain line
 * at most once a second.
 */
export function progressBar(
  label: string,
  totalBytes: number | undefined,
  { force = false, out = process.stderr }: { force?: boolean; out?: NodeJS.WriteStream } = {},
) {
  const started = Date.now();
  let last = 0;
  let bytes = 0;
  const tty = Boolean(out.isTTY);
  const enabled = tty || force;
  const interval = tty ? 100 : 1000;
  const draw = (rows: number, final = false) => {
    if (!enabled) return;
    const now = Date.now();
    if (!final && now - last < interval) return;
    last = now;
    const seconds = Math.max((now - started) / 1000, 0.001);
    const rate = Math.round(rows / seconds).toLocaleString('en-US');
    let bar = '';
    if (totalBytes) {
      const fraction = Math.min(bytes / totalBytes, 1);
      const width = 24;
      const done = Math.round(fraction * width);
      bar = `[${'#'.repeat(done)}${'-'.repeat(width - done)}] ${String(Math.round(fraction * 100)).padStart(3)}% `;
    }
    const line = `${label} ${bar}${plural(rows, 'row')}, ${rate} rows/s`;
    out.write(tty ? `\r${line}${final ? '\n' : ''}` : `${line}\n`);
  };
  return {
    /** Count bytes as they are read, for the percentage. */
    track<T extends Uint8Array | string>(input: AsyncIterable<T>): AsyncIterable<T> {
      return (async function* () {
        for await (const chunk of input) {
          bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
          yield chunk;
        }
      })();
    },
    update: (rows: number) => draw(rows),
    /** A line about the next step (e.g. "Applying…"), shown only where progress is shown. */
    note: (text: string) => {
      if (enabled) out.write(`${text}\n`);
    },
    done: (rows: number) => {
      bytes = totalBytes ?? bytes;
      draw(rows, true);
    },
  };
}
