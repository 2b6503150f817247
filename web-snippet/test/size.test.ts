// The budget and the manifest, checked on the built files (npm test builds them first).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type BuiltFile, GZIP_BUDGET, measure } from '../budget.ts';
import { assertBuilt, distDir } from './harness.ts';

const srcDir = fileURLToPath(new URL('../src/', import.meta.url));

describe('the built snippet', () => {
  assertBuilt();
  const iife = readFileSync(join(distDir, 'closeloop.js'));
  const manifest = JSON.parse(readFileSync(join(distDir, 'manifest.json'), 'utf8')) as { files: BuiltFile[] };

  it('is built from the current sources', () => {
    const newestSource = Math.max(...readdirSync(srcDir).map((name) => statSync(join(srcDir, name)).mtimeMs));
    const built = statSync(join(distDir, 'closeloop.js')).mtimeMs;
    expect(
      built,
      'web-snippet/src changed after the last build: run `npm run build:snippet`',
    ).toBeGreaterThanOrEqual(newestSource);
  });

  it(`stays within ${GZIP_BUDGET} bytes gzipped`, () => {
    const { gzip, brotli, raw } = measure('closeloop.js', iife);
    expect(gzip, `closeloop.js is ${gzip} B gzipped (${raw} B raw, ${brotli} B brotli)`).toBeLessThanOrEqual(
      GZIP_BUDGET,
    );
  });

  it('is one expression that declares no global', () => {
    const code = iife.toString('utf8');
    expect(code.startsWith('(()=>{')).toBe(true);
    expect(code.trimEnd().endsWith('})();')).toBe(true);
  });

  it('matches its manifest, whose hashes name the immutable URLs', () => {
    for (const file of ['closeloop.js', 'closeloop.mjs']) {
      expect(manifest.files.find((entry) => entry.file === file)).toEqual(
        measure(file, readFileSync(join(distDir, file))),
      );
    }
  });
});
