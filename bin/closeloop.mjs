#!/usr/bin/env node
// In a checkout this runs the TypeScript sources directly (Node >= 22.18 strips types); in the
// installed package, which ships no sources, it runs the JavaScript compiled into dist/ (npm run build):
// Node does not strip types under node_modules.
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `closeloop needs Node.js 22.18 or newer; this is ${process.version} (${process.execPath}).\n`,
  );
  process.exit(1);
}
const sources = new URL('../src/cli/main.ts', import.meta.url);
const entry = existsSync(sources) ? sources : new URL('../dist/src/cli/main.js', import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
