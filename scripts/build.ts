// Builds the installable package into dist/ (npm run build; `npm pack` runs it through prepack):
//   dist/src, dist/connectors   the TypeScript compiled to JavaScript by tsc (tsconfig.build.json), its
//                               `.ts` import specifiers rewritten to `.js`: Node does not strip types
//                               under node_modules, so the package cannot run the sources;
//   beside them                 every other file of src/ and connectors/ (the migrations, found by
//                               src/db/client.ts relative to itself), except tests;
//   dist/web-snippet/dist       the built snippet (src/http/snippet.ts finds it relative to itself).
// dist/ mirrors the checkout, so a path one module takes relative to itself holds in both.
// A checkout runs the sources (bin/closeloop.mjs chooses); dist/ is only what ships.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

/** Test files, their fixtures' helpers and TypeScript sources are not copied as they are. */
const notCopied = /(\.ts|\.test\.[a-z]+|\.DS_Store)$/;

function copyAssets(folder: string): number {
  let copied = 0;
  for (const name of readdirSync(join(root, folder))) {
    const path = join(folder, name);
    if (statSync(join(root, path)).isDirectory()) copied += copyAssets(path);
    else if (!notCopied.test(name)) {
      cpSync(join(root, path), join(dist, path));
      copied++;
    }
  }
  return copied;
}

const started = Date.now();
rmSync(dist, { recursive: true, force: true });
const tsc = join(root, 'node_modules', '.bin', 'tsc');
execFileSync(tsc, ['-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
const assets = copyAssets('src') + copyAssets('connectors');
execFileSync(process.execPath, [join(root, 'web-snippet', 'build.ts')], { stdio: 'inherit', cwd: root });
cpSync(join(root, 'web-snippet', 'dist'), join(dist, 'web-snippet', 'dist'), { recursive: true });
for (const needed of [
  'src/cli/main.js',
  'src/db/migrations/meta/_journal.json',
  'web-snippet/dist/closeloop.js',
])
  if (!existsSync(join(dist, needed)))
    throw new Error(`build: ${relative(root, join(dist, needed))} is missing`);
console.log(
  `build: dist/ (compiled sources, ${assets} other files, the snippet) in ${Date.now() - started} ms`,
);
