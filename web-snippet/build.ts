// Builds the web snippet into web-snippet/dist: closeloop.js (minified IIFE for the <script> embed),
// closeloop.mjs (ES module for bundlers) and manifest.json (content hashes, SRI, sizes), then prints the
// sizes and fails when the IIFE is over its gzip budget.
//   node web-snippet/build.ts        (npm run build:snippet)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type BuiltFile, GZIP_BUDGET, measure } from './budget.ts';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');

async function bundle(entry: string, format: 'iife' | 'esm'): Promise<Uint8Array> {
  const result = await build({
    entryPoints: [join(root, 'src', entry)],
    bundle: true,
    write: false,
    minify: true,
    format,
    // Browsers from 2020 on (optional chaining, ??); in older ones the page runs on without the snippet.
    target: ['es2020'],
    legalComments: 'none',
    // Not the project's tsconfig: its strict mode would add a "use strict" prologue the snippet does not need.
    tsconfigRaw: {},
    logLevel: 'warning',
  });
  return result.outputFiles[0]!.contents;
}

const files: Array<[string, Uint8Array]> = [
  ['closeloop.js', await bundle('iife.ts', 'iife')],
  ['closeloop.mjs', await bundle('index.ts', 'esm')],
];
mkdirSync(dist, { recursive: true });
const manifest: BuiltFile[] = [];
for (const [file, code] of files) {
  writeFileSync(join(dist, file), code);
  manifest.push(measure(file, code));
}
writeFileSync(
  join(dist, 'manifest.json'),
  `${JSON.stringify({ gzipBudget: GZIP_BUDGET, files: manifest }, null, 2)}\n`,
);

for (const { file, raw, gzip, brotli, hash } of manifest) {
  console.log(
    `web-snippet/dist/${file.padEnd(13)} ${raw} B raw, ${gzip} B gzip, ${brotli} B brotli (hash ${hash})`,
  );
}
const iife = manifest[0]!;
if (iife.gzip > GZIP_BUDGET) {
  console.log(
    `closeloop.js is ${iife.gzip} B gzipped, over its ${GZIP_BUDGET} B budget (web-snippet/budget.ts).`,
  );
  process.exitCode = 1;
} else {
  console.log(`closeloop.js: ${GZIP_BUDGET - iife.gzip} B left of the ${GZIP_BUDGET} B gzip budget.`);
}
