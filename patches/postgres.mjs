/**
 * A two-part repair of postgres.js 3.4.9 (the newest release, and upstream master, as of this patch),
 * applied to node_modules by `postinstall` so that it survives `npm ci`. Plain JavaScript (types in
 * postgres.d.mts), because Node does not strip types under node_modules, where the installed package's
 * postinstall runs it. Without it, a PostgreSQL
 * connection that dies inside a transaction kills the whole process: the backend of a 100,000-row apply
 * was terminated (pg_terminate_backend) and the service exited with
 *   TypeError: Cannot read properties of null (reading 'write') at Immediate.nextWrite
 * 5 times out of 5 — porsager/postgres#1154 (also #1133, #1208; unmerged fixes #1168, #1176, #1209).
 *
 * What happens: the connection's socket closes, `closed()` sets it to null and rejects the running
 * query; `sql.begin()` then sends ROLLBACK on that same (reserved) connection; the ROLLBACK is small, so
 * it is written from a `setImmediate`, where `socket.write` throws on null — an uncaught exception that
 * no try/catch can reach. And when the pool later reconnects that connection, the first query on it
 * fails with the dead backend's error (57P01), left behind in the connection's state.
 *
 * The edits: (1) `execute()` rejects a query at once with CONNECTION_CLOSED when the connection has no
 * socket (as it already does after `terminate()`), so nothing is buffered for a timer to write; (2)
 * `closed()` forgets the dead backend's query and error once they have been rejected, so a reconnected
 * connection starts clean. Each is needed: without either, test/db/postgres-connection-loss.pg.test.ts
 * fails (a TypeError from the timer, or the next query failing with 57P01). A guard inside `nextWrite()`
 * itself (upstream PRs #1176, #1209) is not needed once nothing reaches it without a socket.
 *
 * Remove this file and the `postinstall` script when a postgres release fixes #1154:
 * test/db/postgres-connection-loss.pg.test.ts fails without the repair.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const patchedVersion = '3.4.9';
const marker = 'closeloop patch (porsager/postgres#1154)';

/** @type {{ find: string; replace: string }[]} */
const edits = [
  {
    find: `    if (terminated)
      return queryError(q, Errors.connection('CONNECTION_DESTROYED', options))
`,
    replace: `    if (terminated)
      return queryError(q, Errors.connection('CONNECTION_DESTROYED', options))

    // ${marker}: no socket (the backend went away), so nothing can be written. Answering
    // true keeps the pool from filing this connection as full: it is in the closed queue, to reconnect.
    if (socket === null) {
      queryError(q, Errors.connection('CONNECTION_CLOSED', options))
      return true
    }
`,
  },
  {
    find: `    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))
`,
    replace: `    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))
    // ${marker}: the dead backend's query and error are settled; the next connection starts clean.
    query = results = errorResponse = null
    result = new Result()
`,
  },
];

/** The package's two Node builds (ESM and CommonJS) carry the same connection.js. */
const builds = ['src/connection.js', 'cjs/src/connection.js'];

/** The patched text, or the text unchanged if it already carries the patch; throws if it does not fit. */
/**
 * @param {string} source
 * @param {string} file
 * @returns {string}
 */
export function patchConnectionSource(source, file) {
  if (source.includes(marker)) return source;
  let out = source;
  for (const { find, replace } of edits) {
    if (out.split(find).length !== 2)
      throw new Error(
        `${file}: the code closeloop's patch repairs was not found (or found twice). Is postgres still ${patchedVersion}? See patches/postgres.mjs.`,
      );
    out = out.replace(find, () => replace);
  }
  return out;
}

/** Whether a connection.js carries the repair (for a start-up check). */
/** @param {string} source */
export function isPatched(source) {
  return source.includes(marker);
}

/**
 * The folder of the postgres package this one resolves: closeloop's own node_modules in a checkout, a
 * node_modules above it where npm hoisted it when closeloop is installed as a package.
 */
export function postgresRoot() {
  // "exports" hides package.json; the CommonJS entry is cjs/src/index.js, three folders down.
  return join(dirname(createRequire(import.meta.url).resolve('postgres')), '..', '..');
}

function main() {
  const root = postgresRoot();
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  if (version !== patchedVersion) {
    process.stderr.write(
      `patches/postgres.mjs: installed postgres is ${version}, the patch is for ${patchedVersion}. Check whether ${version} fixes porsager/postgres#1154 (run test/db/postgres-connection-loss.pg.test.ts without the patch), then update or remove patches/postgres.mjs.\n`,
    );
    return 1;
  }
  for (const build of builds) {
    const file = join(root, build);
    const source = readFileSync(file, 'utf8');
    const patched = patchConnectionSource(source, file);
    if (patched !== source) writeFileSync(file, patched);
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main();
