import { readFileSync } from 'node:fs';

/**
 * closeloop's own package.json. Modules find it relative to themselves, and that path differs by one
 * folder: a module is src/x/y.ts in a checkout and dist/src/x/y.js in the installed package (dist/
 * mirrors the checkout, see scripts/build.ts). Only node:fs is loaded, so `closeloop --version` stays fast.
 */
export function packageJson(): { name: string; version: string } {
  const up = import.meta.url.endsWith('.js') ? '../../' : '../';
  return JSON.parse(readFileSync(new URL(`${up}package.json`, import.meta.url), 'utf8'));
}
