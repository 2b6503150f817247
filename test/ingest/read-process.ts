/**
 * Reads one file with the template reader in a process of its own, so a test can bound its heap
 * (`node --max-old-space-size=N`): a reader that holds what a hostile file unpacks to dies there, not in
 * the test runner. Prints one JSON line: the events other than rows, the rows read and the bytes of
 * the file read before the reader stopped.
 *
 *   node test/ingest/read-process.ts FILE [MAX_ROWS]
 */
import { createReadStream, statSync } from 'node:fs';
import { readTemplate } from '../../src/ingest/read-file.ts';

const [path, maxRows] = process.argv.slice(2);
if (!path) throw new TypeError('Usage: node test/ingest/read-process.ts FILE [MAX_ROWS]');
let consumed = 0;
const input = createReadStream(path, { highWaterMark: 64 * 1024 });
input.on('data', (chunk) => {
  consumed += chunk.length;
});
let rows = 0;
const events: unknown[] = [];
for await (const event of readTemplate(input, {
  kind: 'conversions',
  filename: path,
  ...(maxRows ? { maxRows: Number(maxRows) } : {}),
})) {
  if (event.type === 'row' || event.type === 'rowError') rows++;
  else events.push(event);
}
console.log(JSON.stringify({ events, rows, consumed, size: statSync(path).size }));
